package io.tokengate.e2e.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.e2e.support.Ports;
import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code ./demo.sh --standalone} as a user runs it: the development issuer ({@code demo/issuer.py},
 * which the benchmarks also use), a local app and the sidecar jar, and the three answers. It proves
 * that the tokens the Python issuer signs (its own RSA code, no library) are accepted by the
 * sidecar, and that the decision log it prints never holds a token.
 */
class StandaloneDemoIT {
  @Test
  void theStandaloneDemoAnswers401Then403Then200() {
    Map<String, String> ports =
        Map.of(
            "ISSUER_PORT", String.valueOf(Ports.free()),
            "APP_PORT", String.valueOf(Ports.free()),
            "LISTEN_PORT", String.valueOf(Ports.free()),
            "ADMIN_PORT", String.valueOf(Ports.free()));
    String output;
    try {
      output =
          Processes.run(
              List.of("bash", Repo.root().resolve("demo.sh").toString(), "--standalone"),
              ports,
              Duration.ofMinutes(5));
    } catch (Processes.CommandFailedException e) {
      throw new AssertionError("./demo.sh --standalone failed:\n" + e.output(), e);
    }
    assertThat(output)
        .as(output)
        .containsSubsequence(
            "1. no token",
            "-> 401",
            "WWW-Authenticate: Bearer",
            "2. token with scope 'profile'",
            "-> 403",
            "insufficient_scope",
            "3. token with scope 'orders.read'",
            "-> 200",
            "Decision log");
    String decisions = output.substring(output.indexOf("Decision log"));
    assertThat(decisions).contains("\"decision\"").doesNotContain("eyJ");
  }
}
