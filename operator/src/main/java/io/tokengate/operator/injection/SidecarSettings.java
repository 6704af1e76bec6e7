package io.tokengate.operator.injection;

import java.util.Objects;

/**
 * What the injector needs from the operator settings, as plain data, so injection is decided and
 * rendered without a running application.
 *
 * @param image the sidecar image
 * @param imagePullPolicy Always, IfNotPresent or Never; null leaves the cluster default
 * @param listenPort the port the sidecar accepts application traffic on
 * @param adminPort the sidecar's health and metrics port
 * @param resources requests and limits of the sidecar container
 * @param operatorNamespace pods of this namespace are never injected (the operator's own)
 */
public record SidecarSettings(
    String image,
    String imagePullPolicy,
    int listenPort,
    int adminPort,
    Resources resources,
    String operatorNamespace) {

  public static final int DEFAULT_LISTEN_PORT = 15080;
  public static final int DEFAULT_ADMIN_PORT = 15021;

  public SidecarSettings {
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(resources, "resources");
    if (listenPort == adminPort) {
      throw new IllegalArgumentException("the sidecar listen and admin ports must differ");
    }
  }

  /** Requests and limits as Kubernetes quantities ("100m", "128Mi"); a null value is left out. */
  public record Resources(
      String cpuRequest, String memoryRequest, String cpuLimit, String memoryLimit) {}
}
