package io.tokengate.operator.injection;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Interception without privileges: the sidecar takes over the application port's <em>name</em>. The
 * application's container port {@code upstream.port} is renamed to {@code app-<port>} and the
 * sidecar declares the original name on its listen port, so every Service, Ingress or NetworkPolicy
 * that targets the port by name now reaches the sidecar. A {@code hostPort} moves to the sidecar
 * for the same reason. An unnamed application port leaves nothing to take over: the sidecar's port
 * is then named {@code tokengate}, and Services targeting the number bypass the sidecar (the
 * ApiPolicy reports them as BypassRisk).
 */
final class PortTakeover {
  static final String UNNAMED_PORT_NAME = "tokengate";
  private static final int IANA_SVC_NAME_MAX = 15;

  private PortTakeover() {}

  /** The outcome: the sidecar's listen port and, when a named port was taken over, the rename. */
  record Result(ContainerPort listenPort, Optional<Renamed> renamed, List<String> warnings) {}

  /** The application port {@code port} of container {@code container} is now {@code newName}. */
  record Renamed(String container, String originalName, String newName, int port) {}

  /** Renames the application port in {@code spec} (which is modified) and returns the outcome. */
  static Result apply(PodSpec spec, Container sidecar, int appPort, int listenPort) {
    refuseConflicts(spec, sidecar, appPort, listenPort);
    List<String> warnings = new ArrayList<>();
    for (Container container : spec.getContainers()) {
      for (ContainerPort port : ports(container)) {
        if (port.getContainerPort() != appPort || !isTcp(port)) {
          continue;
        }
        ContainerPort listen = tcpPort(listenPort, port.getName());
        listen.setHostPort(port.getHostPort());
        listen.setHostIP(port.getHostIP());
        port.setHostPort(null);
        port.setHostIP(null);
        if (port.getName() == null || port.getName().isEmpty()) {
          listen.setName(unnamedPortName(spec));
          warnings.add(
              "container '%s' declares port %d without a name: Services must target port '%s'; one targeting %d bypasses the sidecar"
                  .formatted(container.getName(), appPort, UNNAMED_PORT_NAME, appPort));
          return new Result(listen, Optional.empty(), warnings);
        }
        String original = port.getName();
        String renamed = freeName(spec, sidecar, original, appPort);
        port.setName(renamed);
        return new Result(
            listen,
            Optional.of(new Renamed(container.getName(), original, renamed, appPort)),
            warnings);
      }
    }
    warnings.add(
        "no container declares port %d: Services must target port '%s'; one targeting %d bypasses the sidecar"
            .formatted(appPort, UNNAMED_PORT_NAME, appPort));
    return new Result(tcpPort(listenPort, unnamedPortName(spec)), Optional.empty(), warnings);
  }

  private static String unnamedPortName(PodSpec spec) {
    if (namesInUse(spec).contains(UNNAMED_PORT_NAME)) {
      throw new InjectionRefused(
          "the pod already has a port named '%s', the name of the tokengate sidecar's port"
              .formatted(UNNAMED_PORT_NAME));
    }
    return UNNAMED_PORT_NAME;
  }

  private static Set<String> namesInUse(PodSpec spec) {
    Set<String> taken = new HashSet<>();
    allContainers(spec).forEach(c -> ports(c).forEach(p -> taken.add(p.getName())));
    return taken;
  }

  /**
   * {@code app-<port>} (at most 10 characters, always a valid IANA_SVC_NAME), or with a numeric
   * suffix when the pod already uses it.
   */
  private static String freeName(PodSpec spec, Container sidecar, String original, int appPort) {
    Set<String> taken = namesInUse(spec);
    ports(sidecar).forEach(p -> taken.add(p.getName()));
    taken.add(original); // about to belong to the sidecar
    String base = "app-" + appPort;
    for (int n = 1; n < 100; n++) {
      String candidate = n == 1 ? base : base + "-" + n;
      if (!taken.contains(candidate) && candidate.length() <= IANA_SVC_NAME_MAX) {
        return candidate;
      }
    }
    throw new InjectionRefused("no free port name for the application port " + appPort);
  }

  private static void refuseConflicts(PodSpec spec, Container sidecar, int appPort, int listen) {
    List<ContainerPort> sidecarPorts = new ArrayList<>(ports(sidecar));
    sidecarPorts.add(tcpPort(listen, null));
    for (ContainerPort own : sidecarPorts) {
      if (own.getContainerPort() == appPort) {
        throw new InjectionRefused(
            "the ApiPolicy's upstream port %d is a port of the tokengate sidecar itself; use another application port"
                .formatted(appPort));
      }
    }
    allContainers(spec)
        .forEach(
            c ->
                ports(c).stream()
                    .filter(PortTakeover::isTcp)
                    .forEach(
                        p -> {
                          for (ContainerPort own : sidecarPorts) {
                            if (own.getContainerPort().equals(p.getContainerPort())
                                || (own.getName() != null && own.getName().equals(p.getName()))) {
                              throw new InjectionRefused(
                                  "container '%s' uses port %s (%d), which the tokengate sidecar needs; change the container or the operator's sidecar ports"
                                      .formatted(
                                          c.getName(),
                                          p.getName() == null ? "unnamed" : "'" + p.getName() + "'",
                                          p.getContainerPort()));
                            }
                          }
                        }));
  }

  private static ContainerPort tcpPort(int number, String name) {
    ContainerPort port = new ContainerPort();
    port.setName(name);
    port.setContainerPort(number);
    port.setProtocol("TCP");
    return port;
  }

  private static boolean isTcp(ContainerPort port) {
    return port.getProtocol() == null || "TCP".equals(port.getProtocol());
  }

  private static List<ContainerPort> ports(Container container) {
    return container.getPorts() == null ? List.of() : container.getPorts();
  }

  private static Stream<Container> allContainers(PodSpec spec) {
    return Stream.concat(
        Optional.ofNullable(spec.getInitContainers()).orElse(List.of()).stream(),
        Optional.ofNullable(spec.getContainers()).orElse(List.of()).stream());
  }
}
