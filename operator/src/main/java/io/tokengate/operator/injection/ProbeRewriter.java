package io.tokengate.operator.injection;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Lifecycle;
import io.fabric8.kubernetes.api.model.LifecycleHandler;
import io.fabric8.kubernetes.api.model.Probe;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the application's probes and lifecycle hooks reaching the application after its port was
 * renamed.
 *
 * <p>The kubelet probes from the node, straight to the pod IP: it never passes through the sidecar,
 * and must not (the sidecar would answer 401 to a probe without a token and the kubelet would
 * restart a healthy application). Since interception works by port name only, the application's
 * port number is still the application: a probe by number needs no change. A probe by <em>name</em>
 * would break, because the name now belongs to the sidecar's container and a probe resolves names
 * in its own container only. Such probes (httpGet and tcpSocket; grpc takes numbers only) are
 * rewritten to the application's container port number.
 */
final class ProbeRewriter {
  private ProbeRewriter() {}

  /**
   * Points every probe and lifecycle hook of {@code container} (which is modified) that names
   * {@code renamed.originalName()} at port {@code renamed.port()}. Returns the rewritten fields.
   */
  static List<String> rewrite(Container container, PortTakeover.Renamed renamed) {
    List<String> rewritten = new ArrayList<>();
    probe(container.getLivenessProbe(), "livenessProbe", renamed, rewritten);
    probe(container.getReadinessProbe(), "readinessProbe", renamed, rewritten);
    probe(container.getStartupProbe(), "startupProbe", renamed, rewritten);
    Lifecycle lifecycle = container.getLifecycle();
    if (lifecycle != null) {
      handler(lifecycle.getPostStart(), "lifecycle.postStart", renamed, rewritten);
      handler(lifecycle.getPreStop(), "lifecycle.preStop", renamed, rewritten);
    }
    return rewritten;
  }

  private static void probe(
      Probe probe, String field, PortTakeover.Renamed renamed, List<String> rewritten) {
    if (probe == null) {
      return;
    }
    if (probe.getHttpGet() != null && names(probe.getHttpGet().getPort(), renamed)) {
      probe.getHttpGet().setPort(new IntOrString(renamed.port()));
      rewritten.add(field + ".httpGet");
    }
    if (probe.getTcpSocket() != null && names(probe.getTcpSocket().getPort(), renamed)) {
      probe.getTcpSocket().setPort(new IntOrString(renamed.port()));
      rewritten.add(field + ".tcpSocket");
    }
  }

  private static void handler(
      LifecycleHandler handler, String field, PortTakeover.Renamed renamed, List<String> out) {
    if (handler == null) {
      return;
    }
    if (handler.getHttpGet() != null && names(handler.getHttpGet().getPort(), renamed)) {
      handler.getHttpGet().setPort(new IntOrString(renamed.port()));
      out.add(field + ".httpGet");
    }
    if (handler.getTcpSocket() != null && names(handler.getTcpSocket().getPort(), renamed)) {
      handler.getTcpSocket().setPort(new IntOrString(renamed.port()));
      out.add(field + ".tcpSocket");
    }
  }

  private static boolean names(IntOrString port, PortTakeover.Renamed renamed) {
    return port != null
        && port.getStrVal() != null
        && renamed.originalName().equals(port.getStrVal());
  }
}
