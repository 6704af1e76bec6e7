package io.tokengate.e2e.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.e2e.node.SharedNode;
import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code ./demo.sh} end to end on the real node, as a user runs it: it must show the injected pods
 * {@code 2/2 Running} and the client pod's three answers (401, 403, 200), then clean up. The demo
 * starts its own node (one per machine), so it runs after the other node ITs of the same Maven run
 * (ITs run one after another), never beside another user of the node.
 */
class DemoIT {
  @Test
  void theDemoShowsTheSidecarRunningAndTheThreeAnswers() {
    SharedNode.close(); // one node per machine: the demo starts its own
    String output;
    try {
      output =
          Processes.run(
              List.of("bash", Repo.root().resolve("demo.sh").toString()),
              Map.of(),
              Duration.ofMinutes(30));
    } catch (Processes.CommandFailedException e) {
      System.out.println(e.output());
      throw new AssertionError("./demo.sh failed:\n" + e.output(), e);
    }
    System.out.println(output);
    // kubectl get pods -A: both app pods with the sidecar, READY 2/2.
    assertThat(output).containsPattern("(?m)^\\s+shop\\s+orders-\\S+\\s+2/2\\s+Running\\s+0\\s");
    assertThat(output.split("\n"))
        .filteredOn(l -> l.matches("\\s+shop\\s+orders-\\S+\\s+2/2\\s+Running.*"))
        .hasSize(2);
    assertThat(output)
        .containsSubsequence(
            "1. no token",
            "HTTP 401",
            "WWW-Authenticate: Bearer",
            "2. Keycloak",
            "HTTP 403",
            "insufficient_scope",
            "3. Keycloak",
            "HTTP 200",
            "the app saw: x-auth-subject:",
            "kubectl get apipolicy -A -o wide",
            "all three answers as expected",
            "cleaning up");
    assertThat(output).containsPattern("orders-api\\s+corp-idp\\s+Enforce\\s+2/2\\s+True");
  }
}
