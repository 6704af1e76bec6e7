package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.KubeletVolume;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/** Configuration swapped under a running sidecar the way the kubelet swaps a ConfigMap volume. */
class HotReloadTest {
  static final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static final String NEEDS_SCOPE =
      "rules:\n  - paths: [\"/orders/**\"]\n    require: {scopes: [orders.read]}\n";
  static final String OPEN = "rules:\n  - paths: [\"/orders/**\"]\n    action: Allow\n";

  static int status(InProcessSidecar s, String path, String token) {
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(s.uri(path));
      if (token != null) {
        b.header("Authorization", "Bearer " + token);
      }
      return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  static void eventually(IntSupplier actual, int expected) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    int last = actual.getAsInt();
    while (last != expected && System.nanoTime() < deadline) {
      Thread.sleep(50);
      last = actual.getAsInt();
    }
    assertThat(last).isEqualTo(expected);
  }

  @Test
  void aSwappedConfigMapIsAppliedAndABrokenOneIsRefused() throws Exception {
    try (TestIssuer idp = TestIssuer.start();
        TestIssuer other = TestIssuer.start();
        EchoUpstream app = EchoUpstream.start()) {
      String issuer = PolicyFiles.issuerYaml("idp", idp.spec());
      Map<String, String> first =
          Map.of(
              "policy.yaml", PolicyFiles.policyYaml(app.port(), NEEDS_SCOPE),
              "issuer.yaml", issuer,
              "idp.jwks.json", idp.jwksJson());
      KubeletVolume volume =
          new KubeletVolume(Files.createTempDirectory("volume").resolve("tokengate"), first);
      try (InProcessSidecar gate = InProcessSidecar.start(volume.dir())) {
        assertThat(gate.events("startup").get(0).getString("key_snapshot"))
            .endsWith("idp.jwks.json");
        assertThat(status(gate, "/orders/1", null)).isEqualTo(401);
        // The hash of what runs, computed as the operator's status.configHash of the ConfigMap.
        assertThat(gate.admin("/metrics").body())
            .contains(
                "tokengate_config_info{config_hash=\""
                    + io.tokengate.api.v1alpha1.ConfigHash.of(first)
                    + "\"} 1");

        Map<String, String> second =
            Map.of(
                "policy.yaml", PolicyFiles.policyYaml(app.port(), OPEN),
                "issuer.yaml", issuer,
                "idp.jwks.json", idp.jwksJson());
        volume.update(second);
        eventually(() -> status(gate, "/orders/1", null), 200);
        String secondInfo =
            "tokengate_config_info{config_hash=\""
                + io.tokengate.api.v1alpha1.ConfigHash.of(second)
                + "\"} 1";
        assertThat(gate.admin("/metrics").body())
            .contains(secondInfo)
            .doesNotContain(io.tokengate.api.v1alpha1.ConfigHash.of(first));
        JsonObject applied = gate.events("reload").get(0);
        assertThat(applied.getString("keys")).isEqualTo("kept");

        volume.update(
            Map.of(
                "policy.yaml",
                    PolicyFiles.policyYaml(app.port(), OPEN)
                        .replace("port: " + app.port(), "port: 0"),
                "issuer.yaml", issuer,
                "idp.jwks.json", idp.jwksJson()));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (gate.events("reload_refused").isEmpty() && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        List<JsonObject> refused = gate.events("reload_refused");
        assertThat(refused).hasSize(1);
        assertThat(refused.get(0).getString("problems"))
            .contains("policy.yaml")
            .contains("ApiPolicy/orders-api")
            .contains("spec.upstream.port");
        assertThat(status(gate, "/orders/1", null)).isEqualTo(200);
        assertThat(gate.admin("/metrics").body())
            .contains("tokengate_config_reloads_total{result=\"error\"} 1.0")
            .contains("tokengate_config_reloads_total{result=\"success\"} 1.0")
            .as("a refused configuration is not in force")
            .contains(secondInfo);
        assertThat(gate.admin("/healthz/ready").statusCode()).isEqualTo(200);

        // A different issuer: its keys are loaded before the swap, then only its tokens work.
        volume.update(
            Map.of(
                "policy.yaml", PolicyFiles.policyYaml(app.port(), NEEDS_SCOPE),
                "issuer.yaml", PolicyFiles.issuerYaml("idp", other.spec()),
                "idp.jwks.json", other.jwksJson()));
        String fromOther = other.token().claim("scope", "orders.read").sign();
        String fromOld = idp.token().claim("scope", "orders.read").sign();
        eventually(() -> gate.events("reload").size(), 2);
        assertThat(gate.events("reload").get(1).getString("keys")).isEqualTo("reloaded");
        assertThat(status(gate, "/orders/1", fromOther)).isEqualTo(200);
        assertThat(status(gate, "/orders/1", fromOld)).isEqualTo(401);
      }
    }
  }

  /**
   * A key rotation meets a slow IdP: a request whose kid the serving snapshot lacks waits on a
   * fetch that hangs, and meanwhile the kubelet swaps in the operator's newer snapshot, which holds
   * that kid. The waiting request is judged by the newer keys (200), not refused for a kid the
   * sidecar by then holds.
   */
  @Test
  void aRequestWaitingOnAnUnknownKidIsJudgedByTheSnapshotThatArrivesMeanwhile() throws Exception {
    try (TestIssuer idp = TestIssuer.start();
        EchoUpstream app = EchoUpstream.start()) {
      String issuer = PolicyFiles.issuerYaml("idp", idp.spec());
      String policy = PolicyFiles.policyYaml(app.port(), OPEN);
      KubeletVolume volume =
          new KubeletVolume(
              Files.createTempDirectory("volume").resolve("tokengate"),
              Map.of(
                  "policy.yaml", policy, "issuer.yaml", issuer, "idp.jwks.json", idp.jwksJson()));
      try (InProcessSidecar gate = InProcessSidecar.start(volume.dir())) {
        idp.goDown(TestIssuer.Outage.HANG);
        idp.rotate(); // the new key signs; the IdP cannot be asked for it
        String token = idp.token().sign();
        java.util.concurrent.CompletableFuture<HttpResponse<Void>> waiting =
            http.sendAsync(
                HttpRequest.newBuilder(gate.uri("/orders/1"))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        Thread.sleep(300);
        assertThat(waiting).as("the request waits for the unknown kid").isNotDone();
        volume.update(
            Map.of("policy.yaml", policy, "issuer.yaml", issuer, "idp.jwks.json", idp.jwksJson()));
        eventually(() -> gate.events("reload").size(), 1);
        assertThat(gate.events("reload").get(0).getString("keys")).isEqualTo("reloaded");
        assertThat(waiting.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode())
            .isEqualTo(200);
        // And new requests go straight to the new keys.
        assertThat(status(gate, "/orders/1", idp.token().sign())).isEqualTo(200);
        idp.comeBack();
      }
    }
  }
}
