package io.tokengate.operator.injection;

import io.fabric8.kubernetes.api.model.Quantity;
import java.util.Objects;
import java.util.Optional;

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
 * @param redirectImage the init image of {@code interception: Redirect} (redirect-init)
 * @param drainSeconds how long the sidecar serves in-flight requests after SIGTERM
 * @param decisionLogAllowed None, Sampled or All: the log lines of allowed requests where a
 *     policy's {@code spec.decisionLog} does not say
 */
public record SidecarSettings(
    String image,
    String imagePullPolicy,
    int listenPort,
    int adminPort,
    Resources resources,
    String operatorNamespace,
    String redirectImage,
    int drainSeconds,
    String decisionLogAllowed) {

  public static final int DEFAULT_DRAIN_SECONDS = 20;
  public static final String DEFAULT_DECISION_LOG_ALLOWED = "Sampled";

  /** The image the build makes for {@code interception: Redirect}. */
  public static final String DEFAULT_REDIRECT_IMAGE = "tokengate/redirect-init:0.1.0";

  /**
   * Clear of the ports other sidecars take: Istio 15000-15090, Linkerd 4143 and 4191, Dapr 3500 and
   * 50001.
   */
  public static final int DEFAULT_LISTEN_PORT = 7450;

  public static final int DEFAULT_ADMIN_PORT = 7451;

  /** Settings with the default redirect init image, drain time and decision log. */
  public SidecarSettings(
      String image,
      String imagePullPolicy,
      int listenPort,
      int adminPort,
      Resources resources,
      String operatorNamespace) {
    this(
        image,
        imagePullPolicy,
        listenPort,
        adminPort,
        resources,
        operatorNamespace,
        DEFAULT_REDIRECT_IMAGE,
        DEFAULT_DRAIN_SECONDS,
        DEFAULT_DECISION_LOG_ALLOWED);
  }

  public SidecarSettings {
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(redirectImage, "redirectImage");
    Objects.requireNonNull(resources, "resources");
    if (drainSeconds < 0 || drainSeconds > 3600) {
      throw new IllegalArgumentException(
          "the sidecar's drain time must be 0 to 3600 seconds, not " + drainSeconds);
    }
    if (!java.util.Set.of("None", "Sampled", "All").contains(decisionLogAllowed)) {
      throw new IllegalArgumentException(
          "the sidecar's decision log for allowed requests must be None, Sampled or All, not '"
              + decisionLogAllowed
              + "'");
    }
    if (listenPort == adminPort) {
      throw new IllegalArgumentException("the sidecar listen and admin ports must differ");
    }
    javaToolOptions(resources); // refuses an unusable memory limit at start, not at admission
  }

  /** The sidecar JVM's options, sized from the memory limit (see {@link SidecarJvmOptions}). */
  public String javaToolOptions() {
    return javaToolOptions(resources);
  }

  private static String javaToolOptions(Resources resources) {
    return SidecarJvmOptions.forLimit(resources.memoryLimitBytes());
  }

  /** Requests and limits as Kubernetes quantities ("100m", "128Mi"); a null value is left out. */
  public record Resources(
      String cpuRequest, String memoryRequest, String cpuLimit, String memoryLimit) {

    /** The memory limit in bytes, if one is set. */
    public Optional<Long> memoryLimitBytes() {
      if (memoryLimit == null || memoryLimit.isBlank()) {
        return Optional.empty();
      }
      try {
        return Optional.of(Quantity.getAmountInBytes(new Quantity(memoryLimit)).longValueExact());
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw new IllegalArgumentException(
            "the sidecar's memory limit '%s' is not a Kubernetes quantity such as 128Mi"
                .formatted(memoryLimit),
            e);
      }
    }
  }
}
