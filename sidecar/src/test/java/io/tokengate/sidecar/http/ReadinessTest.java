package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Not ready while the issuer's keys are missing; ready, and serving, once they arrive. */
class ReadinessTest {
  @Test
  void withoutKeysItIsNotReadyAndAnswers503ThenRecoversWhenTheIssuerComesBack() throws Exception {
    try (TestIssuer idp = TestIssuer.start();
        EchoUpstream app = EchoUpstream.start()) {
      String token = idp.token().claim("scope", "orders.read").sign();
      idp.goDown(TestIssuer.Outage.HTTP_500);
      Path dir = Files.createTempDirectory("readiness");
      PolicyFiles.write(
          dir.resolve("policy.yaml"),
          PolicyFiles.policyYaml(
              app.port(),
              "rules:\n  - paths: [\"/health\"]\n    action: Allow\n"
                  + "  - paths: [\"/**\"]\n    require: {scopes: [orders.read]}\n"));
      PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
      try (InProcessSidecar gate =
          InProcessSidecar.startUnready(
              dir,
              ValidationTuning.DEFAULTS.withRetry(
                  Duration.ofMillis(100), Duration.ofMillis(400)))) {
        HttpResponse<String> ready = gate.admin("/healthz/ready");
        assertThat(ready.statusCode()).isEqualTo(503);
        JsonObject why = new JsonObject(ready.body());
        assertThat(why.getString("status")).isEqualTo("not_ready");
        assertThat(why.getString("reason")).contains(idp.issuer()).contains("not loaded");
        assertThat(gate.admin("/healthz/live").statusCode()).isEqualTo(200);

        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(gate.uri("/orders"))
                    .header("Authorization", "Bearer " + token)
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/problem+json");
        // Public paths do not depend on keys.
        assertThat(
                http.send(
                        HttpRequest.newBuilder(gate.uri("/health")).build(),
                        HttpResponse.BodyHandlers.discarding())
                    .statusCode())
            .isEqualTo(200);

        idp.comeBack();
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (gate.admin("/healthz/ready").statusCode() != 200 && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(gate.admin("/healthz/ready").statusCode()).isEqualTo(200);
        assertThat(
                http.send(
                        HttpRequest.newBuilder(gate.uri("/orders"))
                            .header("Authorization", "Bearer " + token)
                            .build(),
                        HttpResponse.BodyHandlers.discarding())
                    .statusCode())
            .isEqualTo(200);
      }
    }
  }
}
