package io.tokengate.sidecar.validation;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The introspection answer cache: hashed keys, the usable-until bound, and the size bound. */
class IntrospectionCacheTest {
  static final IntrospectionCache.Answer ACTIVE =
      new IntrospectionCache.Answer(
          new VerifiedToken(null, "https://idp", "alice", "cli", Instant.EPOCH), null);
  static final IntrospectionCache.Answer INACTIVE =
      new IntrospectionCache.Answer(null, GateFailure.invalidToken("inactive", "not active"));

  @Test
  void keysAreTheTokensSha256AndNeverTheToken() {
    ByteBuffer key = VerifiedTokenCache.keyOf("opaque-token-value");
    assertThat(key.remaining()).isEqualTo(32);
    assertThat(new String(key.array(), java.nio.charset.StandardCharsets.ISO_8859_1))
        .doesNotContain("opaque");
    assertThat(VerifiedTokenCache.keyOf("opaque-token-value")).isEqualTo(key);
    assertThat(VerifiedTokenCache.keyOf("opaque-token-valuf")).isNotEqualTo(key);
  }

  @Test
  void anAnswerIsUsedOnlyUntilItsBound() {
    IntrospectionCache cache = new IntrospectionCache(10);
    ByteBuffer a = VerifiedTokenCache.keyOf("a");
    ByteBuffer b = VerifiedTokenCache.keyOf("b");
    cache.put(a, ACTIVE, 1_000, 2_000);
    cache.put(b, INACTIVE, 1_000, 1_500);
    assertThat(cache.get(a, 1_999)).isSameAs(ACTIVE);
    assertThat(cache.get(b, 1_499)).isSameAs(INACTIVE);
    assertThat(cache.get(b, 1_500)).isNull();
    assertThat(cache.get(a, 2_000)).isNull();
    assertThat(cache.size()).isZero();
    // An answer already past its bound (exp before now) is not stored at all.
    cache.put(a, ACTIVE, 3_000, 3_000);
    assertThat(cache.size()).isZero();
  }

  @Test
  void theCacheStaysWithinItsBoundExpiredEntriesFirst() {
    IntrospectionCache cache = new IntrospectionCache(100);
    for (int i = 0; i < 50; i++) {
      cache.put(VerifiedTokenCache.keyOf("old-" + i), ACTIVE, 0, 10);
    }
    for (int i = 0; i < 1_000; i++) {
      cache.put(VerifiedTokenCache.keyOf("new-" + i), ACTIVE, 100, 1_000_000);
      assertThat(cache.size()).isLessThanOrEqualTo(100);
    }
    assertThat(cache.get(VerifiedTokenCache.keyOf("new-999"), 200)).isSameAs(ACTIVE);
    assertThat(cache.get(VerifiedTokenCache.keyOf("old-0"), 200)).isNull();
    IntrospectionCache off = new IntrospectionCache(0);
    off.put(VerifiedTokenCache.keyOf("x"), ACTIVE, 0, 10);
    assertThat(off.size()).isZero();
  }
}
