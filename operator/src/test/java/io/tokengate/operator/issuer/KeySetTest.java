package io.tokengate.operator.issuer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokengate.api.v1alpha1.Conditions.Reasons;
import org.junit.jupiter.api.Test;

class KeySetTest {
  private static final String EC =
      "{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"BB\",\"d\":\"SECRET\"}";
  private static final String RSA =
      "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"alg\":\"RS256\",\"n\":\"CC\",\"e\":\"AQAB\"}";

  @Test
  void keepsPublicSigningKeysInACanonicalOrder() {
    KeySet a = KeySet.parse("{\"keys\":[" + EC + "," + RSA + ",{\"kty\":\"oct\",\"k\":\"x\"}]}");
    KeySet b = KeySet.parse("{\"keys\":[" + RSA + "," + EC + "]}");
    assertThat(a.json()).doesNotContain("SECRET").doesNotContain("oct");
    assertThat(a.size()).isEqualTo(2);
    assertThat(a.hash()).isEqualTo(b.hash()).startsWith("sha256:");
    assertThat(a.infos()).extracting(k -> k.kid).containsExactly("ec", "rsa");
  }

  @Test
  void refusesDocumentsWithoutUsableKeys() {
    assertThatThrownBy(() -> KeySet.parse("<html/>"))
        .isInstanceOfSatisfying(
            IssuerFailure.class, f -> assertThat(f.reason()).isEqualTo(Reasons.JWKS_INVALID));
    assertThatThrownBy(
            () ->
                KeySet.parse(
                    "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"a\",\"e\":\"b\"}]}"))
        .isInstanceOfSatisfying(
            IssuerFailure.class, f -> assertThat(f.reason()).isEqualTo(Reasons.NO_USABLE_KEYS));
  }
}
