package io.tokengate.sidecar.validation;

import static io.tokengate.sidecar.validation.Validation.accepted;
import static io.tokengate.sidecar.validation.Validation.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.JWTClaimsSet;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The verified-token cache: hits, expiry re-checks, key removal, and its bound. */
class VerifiedTokenCacheTest {
  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  /** A clock the test moves forward. */
  static final class MovableClock extends Clock {
    private final AtomicLong offsetMillis = new AtomicLong();

    void advance(Duration d) {
      offsetMillis.addAndGet(d.toMillis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.now().plusMillis(offsetMillis.get());
    }
  }

  private static double cache(PrometheusMeterRegistry r, String result) {
    return r.find("tokengate.token.cache").tag("result", result).counter().count();
  }

  @Test
  void aRepeatedTokenIsACacheHitUntilItExpires() {
    try (TestIssuer idp = TestIssuer.builder().key(SigningKey.ec("ec-1")).start()) {
      TokenIssuerSpec spec = idp.spec();
      spec.clockSkewSeconds = 0;
      MovableClock clock = new MovableClock();
      PrometheusMeterRegistry registry = Validation.registry();
      JwtValidator v =
          JwtValidator.create(
              vertx,
              spec,
              Validation.AUDIENCES,
              Optional.empty(),
              registry,
              Validation.FAST.withClock(clock));
      try {
        TestIssuer.await("ready", Duration.ofSeconds(10), v::ready);
        String token = idp.token().expiresIn(Duration.ofSeconds(30)).sign();
        VerifiedToken first = accepted(v, token);
        VerifiedToken second = accepted(v, token);
        assertThat(second).isSameAs(first);
        assertThat(cache(registry, "hit")).isEqualTo(1);
        assertThat(cache(registry, "miss")).isEqualTo(1);

        clock.advance(Duration.ofSeconds(31));
        assertRejected(v, token, RejectionReason.EXPIRED);
        assertThat(cache(registry, "hit")).as("an expired entry is no hit").isEqualTo(1);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void removingTheKeyFromTheJwksStopsItsCachedTokens() {
    SigningKey first = SigningKey.ec("ec-1");
    try (TestIssuer idp = TestIssuer.builder().key(first).start()) {
      TokenIssuerSpec spec = idp.spec();
      spec.refreshInterval = "1s";
      JwtValidator v = Validation.readyValidator(vertx, spec, Validation.registry());
      try {
        String token = idp.token().sign();
        accepted(v, token);
        accepted(v, token);
        SigningKey next = idp.rotate();
        idp.unpublish(first.kid());
        TestIssuer.await(
            "the JWKS change seen",
            Duration.ofSeconds(10),
            () ->
                v.keys().keyCount() == 1 && v.keys().keys().keys().get(0).kid().equals(next.kid()));
        assertRejected(v, token, RejectionReason.UNKNOWN_KID);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void theCacheIsBounded() {
    VerifiedTokenCache cache = new VerifiedTokenCache(100, 60_000);
    long now = System.currentTimeMillis();
    VerifiedToken token =
        new VerifiedToken(
            new JWTClaimsSet.Builder().build(),
            "iss",
            "sub",
            null,
            Instant.ofEpochMilli(now + 60_000));
    for (int i = 0; i < 1000; i++) {
      cache.put(VerifiedTokenCache.keyOf("token-" + i), token, 1, now, now + 60_000);
      assertThat(cache.size()).isLessThanOrEqualTo(100);
    }
    assertThat(cache.get(VerifiedTokenCache.keyOf("token-999"), 1, now)).isSameAs(token);
    assertThat(cache.get(VerifiedTokenCache.keyOf("token-999"), 2, now))
        .as("another key generation")
        .isNull();
    assertThat(cache.get(VerifiedTokenCache.keyOf("token-998"), 1, now + 60_001))
        .as("past its lifetime")
        .isNull();
  }

  @Test
  void aZeroSizedCacheIsOff() {
    try (TestIssuer idp = TestIssuer.builder().key(SigningKey.ec("ec-1")).start()) {
      PrometheusMeterRegistry registry = Validation.registry();
      JwtValidator v =
          JwtValidator.create(
              vertx,
              idp.spec(),
              Validation.AUDIENCES,
              Optional.empty(),
              registry,
              Validation.FAST.withTokenCache(0, Duration.ofMinutes(1)));
      try {
        TestIssuer.await("ready", Duration.ofSeconds(10), v::ready);
        String token = idp.token().sign();
        accepted(v, token);
        accepted(v, token);
        assertThat(cache(registry, "hit")).isZero();
      } finally {
        v.close();
      }
    }
  }
}
