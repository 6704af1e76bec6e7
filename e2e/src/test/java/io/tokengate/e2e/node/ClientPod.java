package io.tokengate.e2e.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.e2e.cluster.NodeImages;
import io.tokengate.e2e.support.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the client image ({@code get}, {@code burst}, {@code load}) as a pod on the node, so
 * requests come from a pod's network namespace through the Service, kube-proxy and the
 * NetworkPolicy like any other workload's; returns what it printed, parsed.
 */
public final class ClientPod {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final KubernetesClient client;
  private final String namespace;

  public ClientPod(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  /** {@code client get [-H 'Authorization: Bearer <bearer>'] [headers...] url}. */
  public JsonNode get(String url, String bearer, String... headers) {
    List<String> args = new ArrayList<>(List.of("get", "--timeout", "5s"));
    if (bearer != null) {
      args.add("-H");
      args.add("Authorization: Bearer " + bearer);
    }
    for (String header : headers) {
      args.add("-H");
      args.add(header);
    }
    args.add(url);
    return run(args, Duration.ofMinutes(2));
  }

  /** Starts {@code client args...}; {@link Running#await} waits for it and parses its output. */
  public Running start(List<String> args) {
    String name = "client-" + SEQUENCE.incrementAndGet();
    Pod pod =
        new PodBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace(namespace)
            .addToLabels("app", "client")
            .endMetadata()
            .withNewSpec()
            .withRestartPolicy("Never")
            .withTerminationGracePeriodSeconds(1L)
            .withAutomountServiceAccountToken(false)
            .addNewContainer()
            .withName("client")
            .withImage(NodeImages.CLIENT)
            .withImagePullPolicy("Never")
            .withArgs(args)
            .endContainer()
            .endSpec()
            .build();
    client.pods().inNamespace(namespace).resource(pod).create();
    return new Running(name, args.get(0));
  }

  public JsonNode run(List<String> args, Duration timeout) {
    return start(args).await(timeout);
  }

  public final class Running {
    private final String name;
    private final String mode;

    private Running(String name, String mode) {
      this.name = name;
      this.mode = mode;
    }

    /** True once the client's container runs (its requests are under way). */
    public boolean running() {
      Pod p = client.pods().inNamespace(namespace).withName(name).get();
      return p != null
          && p.getStatus() != null
          && List.of("Running", "Succeeded").contains(p.getStatus().getPhase());
    }

    public JsonNode await(Duration timeout) {
      Pod done =
          Await.until(
              "client pod " + name + " (" + mode + ") to finish",
              timeout,
              () -> {
                Pod p = client.pods().inNamespace(namespace).withName(name).get();
                String phase = p == null || p.getStatus() == null ? null : p.getStatus().getPhase();
                return "Succeeded".equals(phase) || "Failed".equals(phase) ? p : null;
              });
      String log = client.pods().inNamespace(namespace).withName(name).getLog();
      client.pods().inNamespace(namespace).withName(name).withGracePeriod(0).delete();
      if (!"Succeeded".equals(done.getStatus().getPhase()) && !mode.equals("get")) {
        throw new AssertionError("client " + mode + " in pod " + name + " failed:\n" + log);
      }
      try {
        return JSON.readTree(log.substring(Math.max(0, log.indexOf('{'))));
      } catch (IOException e) {
        throw new UncheckedIOException("client " + mode + " printed no JSON:\n" + log, e);
      }
    }
  }
}
