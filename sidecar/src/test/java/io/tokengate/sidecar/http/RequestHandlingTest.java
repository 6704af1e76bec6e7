package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokengate.sidecar.config.ConfigLoader;
import io.tokengate.sidecar.config.InvalidConfigException;
import io.tokengate.sidecar.config.RequestHandling;
import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.testing.RawHttp;
import io.tokengate.testing.TestIssuer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code spec.requestHandling}: what each option loosens, and that bad values are refused. */
class RequestHandlingTest {
  static final String POLICY =
      """
      requestHandling:
        escapedSlashes: Keep
        allowMethodOverride: true
        trustedForwardedHops: 1
      rules:
        - paths: ["/files/**"]
          methods: [GET]
          action: Allow
        - paths: ["/files/**"]
          methods: [DELETE]
          action: Deny
      """;

  static TestIssuer idp;
  static EchoUpstream app;
  static InProcessSidecar gate;
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    dir = Files.createTempDirectory("request-handling");
    PolicyFiles.write(dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), POLICY));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    gate = InProcessSidecar.start(dir);
  }

  @AfterAll
  static void stop() {
    gate.close();
    app.close();
    idp.close();
  }

  @Test
  void theOptionsAreReadFromThePolicy() {
    assertThat(ConfigLoader.load(dir).requestHandling())
        .isEqualTo(
            new RequestHandling(
                io.tokengate.api.v1alpha1.apipolicy.RequestHandling.EscapedSlashes.Keep, true, 1));
  }

  @Test
  void keptEscapedSlashesReachTheApplicationUndecoded() throws Exception {
    RawHttp.Response r = RawHttp.get(gate.port(), "/files/a%2fb/c");
    assertThat(r.status()).isEqualTo(200);
    assertThat(app.next().path()).isEqualTo("/files/a%2Fb/c");
  }

  @Test
  void anAllowedOverrideDecidesTheRuleOnTheOverridingMethod() throws Exception {
    RawHttp.Response r = RawHttp.get(gate.port(), "/files/x", "X-HTTP-Method-Override: DELETE");
    assertThat(r.status()).isEqualTo(403);
    RawHttp.Response lower = RawHttp.get(gate.port(), "/files/x", "X-HTTP-Method-Override: delete");
    assertThat(lower.status()).isEqualTo(400);
    assertThat(app.pending()).isZero();
  }

  @Test
  void trustedHopsKeepTheChainAndNameTheClient() throws Exception {
    RawHttp.Response r =
        RawHttp.get(
            gate.port(),
            "/files/fwd",
            "X-Forwarded-For: 198.51.100.7",
            "X-Forwarded-Proto: https",
            "X_Forwarded_Proto: http");
    assertThat(r.status()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.headers("X-Forwarded-For")).containsExactly("198.51.100.7, 127.0.0.1");
    assertThat(seen.headers("X-Real-IP")).containsExactly("198.51.100.7");
    assertThat(seen.headers("X-Forwarded-Proto")).containsExactly("https");
    assertThat(seen.headers("X_Forwarded_Proto")).isEmpty();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "escapedSlashes: Decode    | spec.requestHandling.escapedSlashes",
        "trustedForwardedHops: -1  | spec.requestHandling.trustedForwardedHops",
        "trustedForwardedHops: 11  | spec.requestHandling.trustedForwardedHops",
        "x: 1                      | x"
      })
  void badValuesAndUnknownFieldsAreRefusedNamingTheField(String field, String named)
      throws Exception {
    Path bad = Files.createTempDirectory("request-handling-bad");
    PolicyFiles.write(
        bad.resolve("policy.yaml"),
        PolicyFiles.policyYaml(app.port(), "requestHandling:\n  " + field + "\n"));
    PolicyFiles.write(bad.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    assertThatThrownBy(() -> ConfigLoader.load(bad))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining(named);
  }
}
