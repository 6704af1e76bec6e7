package io.tokengate.sidecar.validation;

import static io.tokengate.sidecar.validation.Validation.accepted;
import static io.tokengate.sidecar.validation.Validation.assertRejected;
import static io.tokengate.sidecar.validation.Validation.fresh;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Snapshot mode of {@link JwksCache} against a real, counting HTTP issuer: the operator-rendered
 * snapshot is the only key source until a token names a kid it does not hold; then one jittered,
 * shared, rate-limited fetch.
 */
class SnapshotKeysTest {
  private static final Duration JITTER = Duration.ofMillis(300);
  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  private static JwtValidator fromSnapshot(
      TestIssuer idp, MeterRegistry registry, ValidationTuning tuning) {
    TokenIssuerSpec spec = idp.spec();
    spec.refreshInterval = "1s";
    JwtValidator v =
        JwtValidator.create(
            vertx, spec, Validation.AUDIENCES, Optional.of(idp.jwks()), registry, tuning);
    assertThat(v.keys().followsSnapshot()).isTrue();
    return v;
  }

  private static double refreshes(MeterRegistry r, String trigger) {
    return r.find("tokengate.jwks.refresh").tag("trigger", trigger).counters().stream()
        .mapToDouble(Counter::count)
        .sum();
  }

  /** Waits past several refresh intervals (and their jitter) while known-kid tokens flow. */
  private static void validateFor(JwtValidator v, TestIssuer idp, Duration window)
      throws InterruptedException {
    long end = System.nanoTime() + window.toNanos();
    while (System.nanoTime() < end) {
      accepted(v, fresh(idp));
      Thread.sleep(50);
    }
  }

  @Test
  void aMultiTenantIssuerServesFromTheOperatorsSnapshotWithoutDiscovery() {
    String tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    try (TestIssuer entra =
        TestIssuer.builder()
            .issuerPath("/organizations/v2.0")
            .tenantTemplate("/{tenantid}/v2.0")
            .key(SigningKey.rsa("entra-1").withoutAlgOnJwk())
            .start()) {
      TokenIssuerSpec spec = entra.spec();
      spec.tenants = List.of(tid);
      JwtValidator v =
          JwtValidator.create(
              vertx,
              spec,
              Validation.AUDIENCES,
              Optional.of(entra.jwks()),
              Validation.registry(),
              Validation.FAST);
      try {
        assertThat(v.ready()).as("ready from the snapshot alone").isTrue();
        VerifiedToken t = accepted(v, entra.tenantToken(tid).sign());
        assertThat(t.issuer()).isEqualTo(entra.issuerOfTenant(tid));
        assertThat(t.trustedIssuer()).isEqualTo(entra.issuer());
        assertRejected(
            v,
            entra.tenantToken("0b3c6a1e-8c7f-4a5e-9d2b-3f1e6c0a9b8d").sign(),
            RejectionReason.TENANT_NOT_ALLOWED);
        assertRejected(v, entra.token().sign(), RejectionReason.WRONG_ISSUER);
        assertThat(entra.discoveryRequests()).isZero();
        assertThat(entra.jwksRequests()).isZero();
      } finally {
        v.close();
      }
    }
  }

  @Test
  void knownKidsNeverReachTheIdpWhateverTheRefreshInterval() throws Exception {
    try (TestIssuer idp = TestIssuer.start()) {
      MeterRegistry registry = Validation.registry();
      JwtValidator v = fromSnapshot(idp, registry, Validation.FAST.withUnknownKidJitter(JITTER));
      try {
        assertThat(v.ready()).as("ready from the snapshot alone").isTrue();
        validateFor(v, idp, Duration.ofMillis(3500));
        assertThat(idp.jwksRequests()).as("JWKS requests over three refresh intervals").isZero();
        assertThat(idp.discoveryRequests()).isZero();
        assertThat(refreshes(registry, "interval")).isZero();
        assertThat(refreshes(registry, "unknown_kid")).isZero();
      } finally {
        v.close();
      }
    }
  }

  @Test
  void concurrentTokensWithARotatedKidShareOneFetch() throws Exception {
    try (TestIssuer idp = TestIssuer.start()) {
      MeterRegistry registry = Validation.registry();
      JwtValidator v = fromSnapshot(idp, registry, Validation.FAST.withUnknownKidJitter(JITTER));
      try {
        idp.rotate();
        List<Future<VerifiedToken>> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
          all.add(v.validate(fresh(idp)));
        }
        for (Future<VerifiedToken> f : all) {
          assertThat(Validation.await(f).claims().getIssuer()).isEqualTo(idp.issuer());
        }
        assertThat(idp.jwksRequests()).as("one fetch shared by 40 tokens").isEqualTo(1);
        assertThat(refreshes(registry, "unknown_kid")).isEqualTo(1);
        assertThat(refreshes(registry, "interval")).isZero();

        validateFor(v, idp, Duration.ofMillis(2500));
        assertThat(idp.jwksRequests()).as("no timer after the unknown-kid fetch").isEqualTo(1);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void madeUpKidsCostOneFetchPerIntervalNotOnePerToken() {
    try (TestIssuer idp = TestIssuer.start()) {
      MeterRegistry registry = Validation.registry();
      ValidationTuning tuning =
          Validation.FAST
              .withUnknownKidJitter(JITTER)
              .withUnknownKidRefetchInterval(Duration.ofSeconds(3));
      JwtValidator v = fromSnapshot(idp, registry, tuning);
      try {
        SigningKey ghost = SigningKey.rsa("ghost");
        assertRejected(v, idp.token().signedBy(ghost).sign(), RejectionReason.UNKNOWN_KID);
        assertThat(idp.jwksRequests()).isEqualTo(1);
        // Thirty made-up kids sent well within the interval after that fetch: they all wait for
        // one deferred fetch.
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
          tokens.add(idp.token().signedBy(ghost).kid("ghost-" + i).sign());
        }
        List<Future<VerifiedToken>> waves = new ArrayList<>();
        for (String token : tokens) {
          waves.add(v.validate(token));
        }
        for (Future<VerifiedToken> f : waves) {
          Boolean failed = Validation.await(f.transform(ar -> Future.succeededFuture(ar.failed())));
          assertThat(failed).as("a made-up kid is refused").isTrue();
        }
        assertThat(idp.jwksRequests()).as("30 made-up kids after the first").isEqualTo(2);
        assertThat(refreshes(registry, "unknown_kid")).isEqualTo(2);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void tokensOfAnotherIssuerOrMalformedNeverCauseAFetch() {
    try (TestIssuer idp = TestIssuer.start();
        TestIssuer other = TestIssuer.start()) {
      JwtValidator v =
          fromSnapshot(idp, Validation.registry(), Validation.FAST.withUnknownKidJitter(JITTER));
      try {
        assertRejected(
            v,
            other.token().signedBy(SigningKey.rsa("foreign")).sign(),
            RejectionReason.WRONG_ISSUER);
        assertRejected(v, "not.a-token.at-all", RejectionReason.MALFORMED);
        assertThat(idp.jwksRequests()).isZero();
        assertThat(idp.discoveryRequests()).isZero();
      } finally {
        v.close();
      }
    }
  }

  @Test
  void aSnapshotWithoutAUsableKeyFallsBackToPolling() {
    try (TestIssuer idp = TestIssuer.start()) {
      JwtValidator v =
          JwtValidator.create(
              vertx,
              idp.spec(),
              Validation.AUDIENCES,
              Optional.of(new com.nimbusds.jose.jwk.JWKSet()),
              Validation.registry(),
              Validation.FAST);
      try {
        assertThat(v.keys().followsSnapshot()).isFalse();
        TestIssuer.await("keys polled from the IdP", Duration.ofSeconds(10), v::ready);
        accepted(v, idp.token().sign());
        assertThat(idp.jwksRequests()).isPositive();
      } finally {
        v.close();
      }
    }
  }
}
