package io.tokengate.api.v1alpha1;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the Kubernetes-style durations used in specs ({@code 90s}, {@code 10m}, {@code 1h30m}).
 */
public final class Durations {
  /** The schema pattern for duration fields; kept beside the parser so the two cannot drift. */
  public static final String PATTERN = "^([0-9]+(ms|s|m|h))+$";

  private static final Pattern PART = Pattern.compile("([0-9]+)(ms|s|m|h)");

  private Durations() {}

  public static Duration parse(String text) {
    if (text == null || !text.matches(PATTERN)) {
      throw new IllegalArgumentException(
          "invalid duration '" + text + "': expected e.g. 30s, 10m, 1h30m, 500ms");
    }
    Duration total = Duration.ZERO;
    Matcher m = PART.matcher(text);
    while (m.find()) {
      long n = Long.parseLong(m.group(1));
      total =
          total.plus(
              switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
              });
    }
    return total;
  }
}
