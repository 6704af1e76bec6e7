package io.tokengate.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.e2e.node.SharedNode;
import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The e2e cluster's node on this machine ({@code e2e/controlplane/node-smoke.sh}): a pod Running
 * and Ready through its probe, {@code kubectl exec/logs}, a Service through kube-proxy from the
 * host and from a pod, the {@code kubernetes} Service from a pod, a NetworkPolicy enforced (deny,
 * then allow), a memory limit ending {@code OOMKilled}, pods' cgroups under this process's; then
 * {@code stop.sh} leaves no process, shim, bridge, firewall rule, mount or cgroup, and the sysctls
 * as they were. Where the node cannot start (no root, no memory controller) this fails with the
 * message naming what is missing.
 */
class NodeIT {
  static final List<String> CHECKS =
      List.of(
          "node tokengate-node Ready",
          "pod web Running and Ready",
          "kubectl exec",
          "kubectl logs",
          "host -> ClusterIP",
          "pod -> ClusterIP",
          "pod -> kubernetes Service",
          "NetworkPolicy deny-all: client -> web refused",
          "NetworkPolicy deny-all: still refused via the ClusterIP",
          "NetworkPolicy allow role=client: client -> web answered",
          "memory limit enforced: hog OOMKilled",
          "pods' cgroups nest under this process's cgroup",
          "no process left after stop.sh",
          "no containerd shim left",
          "containerd's socket directory removed",
          "bridge removed",
          "nft tables removed",
          "node cgroups removed",
          "sysctls restored");

  @Test
  void podsRunOnTheNodeWithServicesPoliciesAndLimitsAndStopLeavesNothing() throws IOException {
    SharedNode.close(); // one node per machine: this test starts its own
    Path base = Repo.workDir();
    Path dir = Files.createTempDirectory(base, "node-");
    String output;
    try {
      output =
          Processes.run(
              List.of(
                  "bash",
                  Repo.root().resolve("e2e/controlplane/node-smoke.sh").toString(),
                  dir.toString()),
              Map.of(),
              Duration.ofMinutes(8));
    } catch (Processes.CommandFailedException e) {
      System.out.println(e.output());
      throw new AssertionError(
          "the node's self-test failed (logs in " + dir.resolve("logs") + "):\n" + e.output(), e);
    }
    System.out.println(output);
    assertThat(output).containsPattern("(?m)^node-smoke: [1-9][0-9]* passed, 0 failed$");
    for (String check : CHECKS) {
      assertThat(output)
          .as(check)
          .containsPattern("(?m)^ok    " + java.util.regex.Pattern.quote(check));
    }
  }
}
