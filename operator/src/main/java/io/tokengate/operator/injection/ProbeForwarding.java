package io.tokengate.operator.injection;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HTTPGetActionBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Lifecycle;
import io.fabric8.kubernetes.api.model.LifecycleHandler;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.TCPSocketAction;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Probes for {@code interception: Redirect} and {@code Loopback}, where the kubelet can no longer
 * reach the application port (it would land on the sidecar, or find nothing listening): every
 * httpGet or tcpSocket probe aimed at the application port is pointed at {@code
 * /app-health/<container>/<livez|readyz|startupz>} on the sidecar's admin port, and the original,
 * with its port as a number, goes to the sidecar ({@code TOKENGATE_APP_PROBES}), which forwards it
 * to the application on loopback without a token. As Istio's probe rewrite does.
 *
 * <p>httpGet lifecycle hooks of the application port go the same way ({@code
 * /app-health/<container>/<poststart|prestop>}). Probes with an explicit {@code host} do not target
 * the pod and are left alone, as are exec probes and probes of other ports. A gRPC probe of the
 * application port cannot be forwarded (the admin port speaks HTTP/1.1): the pod is refused rather
 * than started with a probe that always fails.
 */
final class ProbeForwarding {
  static final String ENV = "TOKENGATE_APP_PROBES";

  /** The sidecar's bound on a forwarded probe's timeout. */
  private static final int MAX_TIMEOUT_SECONDS = 300;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final int appPort;
  private final int adminPort;
  private final Map<String, ObjectNode> forwarded = new TreeMap<>();

  ProbeForwarding(int appPort, int adminPort) {
    this.appPort = appPort;
    this.adminPort = adminPort;
  }

  /**
   * Rewrites the probes and httpGet lifecycle hooks of {@code container} (modified) that aim at the
   * application port.
   *
   * @param hookTimeoutSeconds how long a forwarded hook may take (the pod's termination grace
   *     period: the kubelet gives a hook no shorter limit)
   */
  void rewrite(Container container, int hookTimeoutSeconds) {
    String name = container.getName();
    rewrite(name, "livez", container.getLivenessProbe(), container::setLivenessProbe);
    rewrite(name, "readyz", container.getReadinessProbe(), container::setReadinessProbe);
    rewrite(name, "startupz", container.getStartupProbe(), container::setStartupProbe);
    Lifecycle lifecycle = container.getLifecycle();
    if (lifecycle != null) {
      hook(name, "poststart", lifecycle.getPostStart(), hookTimeoutSeconds);
      hook(name, "prestop", lifecycle.getPreStop(), hookTimeoutSeconds);
    }
  }

  /**
   * An httpGet hook of the application port fails like a probe would (a postStart failure kills the
   * container), so it is forwarded the same way, with the grace period as its timeout.
   */
  private void hook(String container, String kind, LifecycleHandler handler, int timeoutSeconds) {
    if (handler == null || handler.getHttpGet() == null) {
      return;
    }
    HTTPGetAction http = handler.getHttpGet();
    if (!aimsAtApp(http.getPort()) || !blank(http.getHost())) {
      return;
    }
    String path = AppHealth.path(container, kind);
    ObjectNode original = JSON.createObjectNode();
    httpGet(original, http);
    original.put("timeoutSeconds", Math.max(1, Math.min(MAX_TIMEOUT_SECONDS, timeoutSeconds)));
    forwarded.put(path, original);
    handler.setHttpGet(adminGet(path));
  }

  /** The sidecar's {@code TOKENGATE_APP_PROBES} value; null when no probe was rewritten. */
  String sidecarEnv() {
    if (forwarded.isEmpty()) {
      return null;
    }
    ObjectNode root = JSON.createObjectNode();
    forwarded.forEach(root::set);
    return root.toString();
  }

  private void rewrite(String container, String kind, Probe probe, Consumer<Probe> set) {
    if (probe == null) {
      return;
    }
    if (probe.getGrpc() != null && probe.getGrpc().getPort() == appPort) {
      throw new InjectionRefused(
          ("container '%s' has a gRPC %s probe of the application port %d, which the sidecar"
                  + " cannot forward under this interception; probe with httpGet or tcpSocket, or"
                  + " another port")
              .formatted(container, kind, appPort));
    }
    String path = AppHealth.path(container, kind);
    ObjectNode original = JSON.createObjectNode();
    HTTPGetAction http = probe.getHttpGet();
    TCPSocketAction tcp = probe.getTcpSocket();
    if (http != null && aimsAtApp(http.getPort()) && blank(http.getHost())) {
      httpGet(original, http);
    } else if (tcp != null && aimsAtApp(tcp.getPort()) && blank(tcp.getHost())) {
      original.putObject("tcpSocket").put("port", appPort);
    } else {
      return;
    }
    if (probe.getTimeoutSeconds() != null) {
      original.put("timeoutSeconds", probe.getTimeoutSeconds());
    }
    forwarded.put(path, original);
    probe.setTcpSocket(null);
    probe.setHttpGet(adminGet(path));
    set.accept(probe);
  }

  private void httpGet(ObjectNode original, HTTPGetAction http) {
    ObjectNode get = original.putObject("httpGet");
    get.put("path", http.getPath() == null || http.getPath().isEmpty() ? "/" : http.getPath());
    get.put("port", appPort);
    get.put("scheme", http.getScheme() == null ? "HTTP" : http.getScheme());
    if (http.getHttpHeaders() != null && !http.getHttpHeaders().isEmpty()) {
      ArrayNode headers = get.putArray("httpHeaders");
      http.getHttpHeaders()
          .forEach(h -> headers.addObject().put("name", h.getName()).put("value", h.getValue()));
    }
  }

  private HTTPGetAction adminGet(String path) {
    return new HTTPGetActionBuilder()
        .withPath(path)
        .withPort(new IntOrString(adminPort))
        .withScheme("HTTP")
        .build();
  }

  private boolean aimsAtApp(IntOrString port) {
    if (port == null) {
      return false;
    }
    if (port.getIntVal() != null) {
      return port.getIntVal() == appPort;
    }
    return Integer.toString(appPort).equals(port.getStrVal());
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  /** The admin port's paths for forwarded probes (the sidecar's {@code AppProbes.PREFIX}). */
  static final class AppHealth {
    private AppHealth() {}

    static String path(String container, String kind) {
      return "/app-health/" + container + "/" + kind;
    }
  }
}
