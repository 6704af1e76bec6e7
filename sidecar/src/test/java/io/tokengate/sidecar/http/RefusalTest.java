package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.GateFailure;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

class RefusalTest {
  static final String REALM = "Bearer realm=\"shop/orders-api\"";

  @Test
  void challengesFollowRfc6750() {
    assertThat(Refusal.challenge(REALM, GateFailure.missingToken())).isEqualTo(REALM);
    assertThat(Refusal.challenge(REALM, GateFailure.invalidToken("expired", "the token expired")))
        .isEqualTo(REALM + ", error=\"invalid_token\", error_description=\"the token expired\"");
    assertThat(
            Refusal.challenge(
                REALM, GateFailure.insufficientScope(List.of("a.read", "b.write"), "needs more")))
        .isEqualTo(
            REALM
                + ", error=\"insufficient_scope\", error_description=\"needs more\","
                + " scope=\"a.read b.write\"");
  }

  @Test
  void aDescriptionCannotBreakOutOfTheChallenge() {
    String c =
        Refusal.challenge(
            REALM, GateFailure.invalidToken("x", "bad \"quote\" \\ and\r\nX-Injected: 1 é"));
    assertThat(c).doesNotContain("\r").doesNotContain("\n").doesNotContain("\\");
    assertThat(c).endsWith("error_description=\"bad 'quote'   and  X-Injected: 1  \"");
  }

  @Test
  void theBodyIsProblemJson() {
    JsonObject body =
        new JsonObject(
            Refusal.body(GateFailure.of(504, "upstream_timeout", "too slow \"really\"")));
    assertThat(body.getString("type")).isEqualTo("https://tokengate.io/problems/upstream_timeout");
    assertThat(body.getString("title")).isEqualTo("Gateway Timeout");
    assertThat(body.getInteger("status")).isEqualTo(504);
    assertThat(body.getString("detail")).isEqualTo("too slow \"really\"");
  }

  @Test
  void refusalsMapToGrpcStatusCodes() {
    assertThat(Refusal.grpcStatus(401)).isEqualTo(16); // UNAUTHENTICATED
    assertThat(Refusal.grpcStatus(403)).isEqualTo(7); // PERMISSION_DENIED
    assertThat(Refusal.grpcStatus(400)).isEqualTo(3); // INVALID_ARGUMENT
    assertThat(Refusal.grpcStatus(431)).isEqualTo(8); // RESOURCE_EXHAUSTED
    assertThat(Refusal.grpcStatus(501)).isEqualTo(12); // UNIMPLEMENTED
    for (int s : new int[] {502, 503, 504}) {
      assertThat(Refusal.grpcStatus(s)).as("HTTP %d", s).isEqualTo(14); // UNAVAILABLE
    }
    assertThat(Refusal.grpcStatus(418)).isEqualTo(2); // UNKNOWN
  }

  @Test
  void theGrpcMessageIsPercentEncoded() {
    assertThat(Refusal.grpcMessage("a bearer token is required"))
        .isEqualTo("a bearer token is required");
    assertThat(Refusal.grpcMessage("100% é")).isEqualTo("100%25 %C3%A9");
    assertThat(Refusal.grpcMessage("x\r\ny")).isEqualTo("x%0D%0Ay");
    assertThat(Refusal.grpcMessage(null)).isEmpty();
  }
}
