package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.VersionInfo;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * Whether the API server runs native sidecars (init containers with {@code restartPolicy: Always},
 * on by default from Kubernetes 1.29). The version is asked once, in the background at startup,
 * never on the admission path; until it is known the answer is "no" (a regular container works on
 * every version) and the webhook is not ready.
 */
public final class NativeSidecarSupport implements BooleanSupplier {
  private static final Logger LOG = Logger.getLogger(NativeSidecarSupport.class);
  private static final Pattern DIGITS = Pattern.compile("^(\\d+)");
  static final int FIRST_MINOR = 29;

  private final AtomicReference<Boolean> supported = new AtomicReference<>();

  /** A fixed answer (tests, benchmarks). */
  public static NativeSidecarSupport fixed(boolean supported) {
    NativeSidecarSupport support = new NativeSidecarSupport();
    support.supported.set(supported);
    return support;
  }

  /** Asks the API server (blocking); returns whether the answer is now known. */
  public boolean detect(KubernetesClient client) {
    try {
      VersionInfo version = client.getKubernetesVersion();
      boolean result = supports(version.getMajor(), version.getMinor());
      supported.set(result);
      LOG.infof(
          "Kubernetes %s.%s: the sidecar is injected as a %s",
          version.getMajor(),
          version.getMinor(),
          result ? "native sidecar (init container, restartPolicy Always)" : "regular container");
      return true;
    } catch (RuntimeException e) {
      LOG.warnf("cannot read the API server version yet: %s", e.getMessage());
      return false;
    }
  }

  public boolean known() {
    return supported.get() != null;
  }

  @Override
  public boolean getAsBoolean() {
    return Boolean.TRUE.equals(supported.get());
  }

  /** Version strings as the API server reports them ("1", "29+" on some distributions). */
  static boolean supports(String major, String minor) {
    int maj = leadingNumber(major);
    int min = leadingNumber(minor);
    return maj > 1 || (maj == 1 && min >= FIRST_MINOR);
  }

  private static int leadingNumber(String s) {
    Matcher m = DIGITS.matcher(s == null ? "" : s.trim());
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }
}
