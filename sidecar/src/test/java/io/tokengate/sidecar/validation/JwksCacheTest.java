package io.tokengate.sidecar.validation;

import static io.tokengate.sidecar.validation.Validation.accepted;
import static io.tokengate.sidecar.validation.Validation.assertRejected;
import static io.tokengate.sidecar.validation.Validation.fresh;
import static io.tokengate.sidecar.validation.Validation.rejected;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokengate.api.v1alpha1.tokenissuer.Jwks;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.GateFailure;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Key sources, discovery, rotation, rate limiting and outages, against a real issuer over HTTP and
 * HTTPS.
 */
class JwksCacheTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static Vertx vertx;
  private static SigningKey key;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    key = SigningKey.rsa("rsa-1");
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  private static TestIssuer issuer() {
    return TestIssuer.builder().key(key).start();
  }

  private static JwtValidator create(
      TokenIssuerSpec spec, MeterRegistry registry, ValidationTuning t) {
    return JwtValidator.create(vertx, spec, Validation.AUDIENCES, Optional.empty(), registry, t);
  }

  private static double refreshes(MeterRegistry r, String issuer, String result) {
    return r
        .find("tokengate.jwks.refresh")
        .tag("issuer", issuer)
        .tag("result", result)
        .counters()
        .stream()
        .mapToDouble(io.micrometer.core.instrument.Counter::count)
        .sum();
  }

  // ---- key sources and discovery ----

  @Test
  void aMultiTenantIssuersDiscoveryMustNameItsOwnTemplateAndNeedsItsTenants() {
    String tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    try (TestIssuer entra =
        TestIssuer.builder()
            .issuerPath("/organizations/v2.0")
            .tenantTemplate("/{tenantid}/v2.0")
            .key(SigningKey.rsa("entra-1").withoutAlgOnJwk())
            .start()) {
      // Without spec.tenants the template is a mismatch: no keys, no token accepted.
      PrometheusMeterRegistry bare = Validation.registry();
      JwtValidator withoutTenants = create(entra.spec(), bare, Validation.FAST);
      try {
        TestIssuer.await(
            "a failed refresh", WAIT, () -> refreshes(bare, entra.issuer(), "error") >= 1);
        assertThat(withoutTenants.ready()).isFalse();
        assertThat(entra.jwksRequests()).isZero();
        assertRejected(withoutTenants, entra.tenantToken(tid).sign(), RejectionReason.WRONG_ISSUER);
      } finally {
        withoutTenants.close();
      }

      TokenIssuerSpec spec = entra.spec();
      spec.tenants = List.of(tid);
      JwtValidator v = create(spec, Validation.registry(), Validation.FAST);
      try {
        TestIssuer.await("keys through the template's discovery", WAIT, v::ready);
        assertThat(accepted(v, entra.tenantToken(tid).sign()).trustedIssuer())
            .isEqualTo(entra.issuer());

        // A template of another authority: refused, the held keys stay.
        entra.discoveryOverrides(
            Map.of("issuer", "https://login.microsoftonline.com/{tenantid}/v2.0"));
        PrometheusMeterRegistry other = Validation.registry();
        JwtValidator widened = create(spec, other, Validation.FAST);
        try {
          TestIssuer.await(
              "a failed refresh", WAIT, () -> refreshes(other, entra.issuer(), "error") >= 1);
          assertThat(widened.ready()).isFalse();
        } finally {
          widened.close();
        }
      } finally {
        v.close();
      }
    }
  }

  @Test
  void discoveryMustNameTheIssuerExactly() {
    try (TestIssuer idp = issuer()) {
      idp.discoveryOverrides(Map.of("issuer", idp.issuer() + "/"));
      PrometheusMeterRegistry registry = Validation.registry();
      JwtValidator v = create(idp.spec(), registry, Validation.FAST);
      try {
        TestIssuer.await(
            "a failed refresh", WAIT, () -> refreshes(registry, idp.issuer(), "error") >= 1);
        assertThat(v.ready()).isFalse();
        assertThat(idp.jwksRequests())
            .as("keys of a mismatching issuer are never fetched")
            .isZero();
        assertRejected(v, idp.token().sign(), RejectionReason.NO_KEYS);
        GateFailure f = rejected(v, idp.token().sign());
        assertThat(f.status()).isEqualTo(503);
        assertThat(f.error()).isNull();

        idp.discoveryOverrides(Map.of());
        TestIssuer.await("ready after the IdP fixed its discovery", WAIT, v::ready);
        accepted(v, idp.token().sign());
      } finally {
        v.close();
      }
    }
  }

  @Test
  void aPlainHttpJwksUriFromDiscoveryIsRefusedForAnHttpsIssuer() {
    try (TestIssuer idp = TestIssuer.builder().key(key).https().start()) {
      idp.discoveryOverrides(Map.of("jwks_uri", idp.jwksUri().replace("https:", "http:")));
      PrometheusMeterRegistry registry = Validation.registry();
      JwtValidator v = create(idp.spec(), registry, Validation.FAST);
      try {
        TestIssuer.await(
            "a failed refresh", WAIT, () -> refreshes(registry, idp.issuer(), "error") >= 1);
        assertThat(v.ready()).isFalse();
        assertThat(idp.jwksRequests()).isZero();
      } finally {
        v.close();
      }
    }
  }

  @Test
  void jwksUriOverridesDiscovery() {
    try (TestIssuer idp = issuer()) {
      TokenIssuerSpec spec = idp.spec();
      spec.jwksUri = idp.jwksUri();
      JwtValidator v = Validation.readyValidator(vertx, spec, Validation.registry());
      try {
        accepted(v, idp.token().sign());
        assertThat(idp.discoveryRequests()).isZero();
        assertThat(idp.jwksRequests()).isEqualTo(1);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void staticKeysNeedNoNetwork() {
    TestIssuer idp = issuer();
    String token = idp.token().sign();
    String unknownKid = idp.token().signedBy(SigningKey.ec("ec-9")).sign();
    TokenIssuerSpec spec = idp.spec();
    spec.discovery = false;
    spec.jwks =
        new Jwks(
            new ArrayList<>(
                idp.jwks().toJSONObject(true).get("keys") instanceof List<?> l
                    ? castKeys(l)
                    : List.of()));
    idp.close();

    JwtValidator v = create(spec, Validation.registry(), Validation.FAST);
    try {
      assertThat(v.ready()).as("ready at once").isTrue();
      accepted(v, token);
      assertRejected(v, unknownKid, RejectionReason.UNKNOWN_KID);
      assertThat(idp.jwksRequests() + idp.discoveryRequests()).isZero();
    } finally {
      v.close();
    }
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> castKeys(List<?> keys) {
    return (List<Map<String, Object>>) keys;
  }

  @Test
  void httpsIssuerIsTrustedThroughItsCaBundleOnly() {
    try (TestIssuer idp = TestIssuer.builder().key(key).https().start()) {
      JwtValidator trusted = Validation.readyValidator(vertx, idp.spec(), Validation.registry());
      try {
        accepted(trusted, idp.token().sign());
      } finally {
        trusted.close();
      }

      TokenIssuerSpec untrusted = idp.spec();
      untrusted.caBundle = null;
      PrometheusMeterRegistry registry = Validation.registry();
      JwtValidator v = create(untrusted, registry, Validation.FAST);
      try {
        TestIssuer.await(
            "a failed refresh", WAIT, () -> refreshes(registry, idp.issuer(), "error") >= 1);
        assertThat(v.ready()).isFalse();
      } finally {
        v.close();
      }
    }
  }

  @Test
  void configurationErrorsNameTheField() {
    try (TestIssuer idp = issuer()) {
      TokenIssuerSpec http = idp.spec();
      http.allowInsecureHttp = false;
      assertThatThrownBy(() -> create(http, Validation.registry(), Validation.FAST))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("spec.issuer")
          .hasMessageContaining("https://");

      TokenIssuerSpec jwksUri = idp.spec();
      jwksUri.jwksUri = "ftp://127.0.0.1/keys";
      assertThatThrownBy(() -> create(jwksUri, Validation.registry(), Validation.FAST))
          .hasMessageContaining("spec.jwksUri");

      TokenIssuerSpec ca = idp.spec();
      ca.caBundle = "not a certificate";
      assertThatThrownBy(() -> create(ca, Validation.registry(), Validation.FAST))
          .hasMessageContaining("spec.caBundle");

      TokenIssuerSpec refresh = idp.spec();
      refresh.refreshInterval = "5 minutes";
      assertThatThrownBy(() -> create(refresh, Validation.registry(), Validation.FAST))
          .hasMessageContaining("spec.refreshInterval");

      TokenIssuerSpec noSource = idp.spec();
      noSource.discovery = false;
      assertThatThrownBy(() -> create(noSource, Validation.registry(), Validation.FAST))
          .hasMessageContaining("no key source");

      assertThatThrownBy(
              () ->
                  JwtValidator.create(
                      vertx, idp.spec(), List.of(), Optional.empty(), Validation.registry()))
          .hasMessageContaining("audiences");

      TokenIssuerSpec skew = idp.spec();
      skew.clockSkewSeconds = -1;
      assertThatThrownBy(() -> create(skew, Validation.registry(), Validation.FAST))
          .hasMessageContaining("spec.clockSkewSeconds");
    }
  }

  // ---- rotation ----

  @Test
  void aBurstOfTokensWithANewKidCostsExactlyOneFetch() throws Exception {
    try (TestIssuer idp = issuer()) {
      JwtValidator v = Validation.readyValidator(vertx, idp);
      try {
        idp.jwksDelay(Duration.ofMillis(300)); // make the burst overlap the fetch
        idp.resetCounts();
        idp.rotate();
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
          tokens.add(fresh(idp));
        }
        long start = System.nanoTime();
        ConcurrentLinkedQueue<Future<VerifiedToken>> outcomes = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        for (int t = 0; t < 8; t++) {
          int slice = t;
          pool.submit(
              () -> {
                go.await();
                for (int i = slice; i < tokens.size(); i += 8) {
                  outcomes.add(v.validate(tokens.get(i)));
                }
                return null;
              });
        }
        go.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        assertThat(outcomes).hasSize(100);
        for (Future<VerifiedToken> f : outcomes) {
          Validation.await(f);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(idp.jwksRequests())
            .as("JWKS fetches for 100 concurrent new-kid tokens")
            .isEqualTo(1);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void aFloodOfUnknownKidsIsRateLimited() {
    try (TestIssuer idp = issuer()) {
      JwtValidator v = Validation.readyValidator(vertx, idp);
      try {
        SigningKey forger = SigningKey.ec("forger");
        idp.resetCounts();
        long start = System.nanoTime();
        List<Future<VerifiedToken>> outcomes = new ArrayList<>();
        while (System.nanoTime() - start < Duration.ofMillis(1500).toNanos()) {
          String token = idp.token().signedBy(forger).kid(UUID.randomUUID().toString()).sign();
          outcomes.add(v.validate(token));
        }
        for (Future<VerifiedToken> f : outcomes) {
          try {
            f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            throw new AssertionError("a token with a made-up kid was accepted");
          } catch (java.util.concurrent.ExecutionException e) {
            assertThat(((GateFailure) e.getCause()).reason())
                .isEqualTo(RejectionReason.UNKNOWN_KID);
          } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError(e);
          }
        }
        long elapsedMs = Duration.ofNanos(System.nanoTime() - start).toMillis();
        long bound = elapsedMs / Validation.FAST.unknownKidRefetchInterval().toMillis() + 2;
        assertThat(outcomes.size()).isGreaterThan(50);
        assertThat(idp.jwksRequests())
            .as("fetches for %d made-up kids in %d ms", outcomes.size(), elapsedMs)
            .isBetween(1, (int) bound);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void noValidTokenIsRejectedAcrossARotation() throws Exception {
    try (TestIssuer idp = issuer()) {
      TokenIssuerSpec spec = idp.spec();
      spec.refreshInterval = "1s";
      JwtValidator v = Validation.readyValidator(vertx, spec, Validation.registry());
      try {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        ExecutorService load = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
          load.submit(
              () -> {
                while (running.get()) {
                  try {
                    Validation.await(v.validate(fresh(idp)));
                    ok.incrementAndGet();
                  } catch (AssertionError e) {
                    failures.add(String.valueOf(e.getCause()));
                  }
                }
              });
        }
        Thread.sleep(300);
        SigningKey old = idp.activeKey();
        idp.rotate();
        Thread.sleep(700);
        idp.unpublish(old.kid());
        Thread.sleep(1000);
        running.set(false);
        load.shutdown();
        assertThat(load.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
        assertThat(failures).as("valid tokens rejected during the rotation").isEmpty();
        assertThat(ok.get()).isGreaterThan(50);

        TestIssuer.await("old key dropped", WAIT, () -> v.keys().keyCount() == 1);
        String oldToken = idp.token().signedBy(old).sign();
        assertRejected(v, oldToken, RejectionReason.UNKNOWN_KID);
      } finally {
        v.close();
      }
    }
  }

  // ---- outages ----

  @ParameterizedTest
  @EnumSource(TestIssuer.Outage.class)
  void cachedKeysServeThroughAnOutageAndRefreshResumes(TestIssuer.Outage outage) {
    try (TestIssuer idp = issuer()) {
      TokenIssuerSpec spec = idp.spec();
      spec.refreshInterval = "1s";
      PrometheusMeterRegistry registry = Validation.registry();
      ValidationTuning tuning = Validation.FAST.withFetchTimeout(Duration.ofMillis(700));
      JwtValidator v = create(spec, registry, tuning);
      try {
        TestIssuer.await("ready", WAIT, v::ready);
        idp.goDown(outage);
        TestIssuer.await(
            "a failed refresh during " + outage,
            WAIT,
            () -> refreshes(registry, idp.issuer(), "error") >= 1);
        assertThat(v.ready()).isTrue();
        for (int i = 0; i < 20; i++) {
          accepted(v, fresh(idp));
        }
        SigningKey next = idp.rotate();
        assertRejected(v, fresh(idp), RejectionReason.UNKNOWN_KID);
        assertThat(v.keys().keyCount()).isEqualTo(1);

        idp.comeBack();
        TestIssuer.await(
            "refresh resumed and found " + next.kid(), WAIT, () -> v.keys().keyCount() == 2);
        accepted(v, fresh(idp));
      } finally {
        v.close();
      }
    }
  }

  @Test
  void anEmptyOrBrokenJwksNeverReplacesGoodKeys() {
    try (TestIssuer idp = issuer()) {
      PrometheusMeterRegistry registry = Validation.registry();
      JwtValidator v = Validation.readyValidator(vertx, idp.spec(), registry);
      try {
        List<String> bodies =
            List.of(
                "{\"keys\":[]}",
                "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"rsa-1\"}]}",
                "{}",
                "not json",
                // the genuine keys, but more than the 1 MiB a JWKS may have
                idp.jwksJson()
                    .replaceFirst("\\{", "{\"padding\":\"" + "x".repeat(2 << 20) + "\","));
        double errors = refreshes(registry, idp.issuer(), "error");
        for (String body : bodies) {
          idp.serveJwksBody(body);
          // An unknown kid forces a fetch of the broken document.
          assertRejected(
              v,
              idp.token().kid("unknown-" + UUID.randomUUID()).sign(),
              RejectionReason.UNKNOWN_KID);
          assertThat(refreshes(registry, idp.issuer(), "error")).isGreaterThan(errors);
          errors = refreshes(registry, idp.issuer(), "error");
          assertThat(v.keys().keyCount()).isEqualTo(1);
          accepted(v, fresh(idp));
        }
      } finally {
        v.close();
      }
    }
  }

  @Test
  void failedFetchesBackOffExponentially() {
    try (TestIssuer idp = issuer()) {
      idp.goDown(TestIssuer.Outage.HTTP_500);
      ValidationTuning tuning =
          Validation.FAST.withRetry(Duration.ofMillis(50), Duration.ofMillis(500));
      JwtValidator v = create(idp.spec(), Validation.registry(), tuning);
      try {
        TestIssuer.await("6 attempts", Duration.ofSeconds(30), () -> idp.discoveryRequests() >= 6);
        List<Long> at = idp.requestTimesNanos();
        // Backoff 50, 100, 200, 400, 500 ms (capped), each jittered to 50..100 %: the waits grow,
        // and 5 retries take at least 25 + 50 + 100 + 200 + 250 ms, where a loop without backoff
        // would take a few milliseconds.
        long total = Duration.ofNanos(at.get(5) - at.get(0)).toMillis();
        long lastGap = Duration.ofNanos(at.get(5) - at.get(4)).toMillis();
        assertThat(total).isGreaterThanOrEqualTo(625);
        assertThat(lastGap).isGreaterThanOrEqualTo(250);
        assertThat(v.ready()).isFalse();
        idp.comeBack();
        TestIssuer.await("ready once the IdP is back", WAIT, v::ready);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void aSnapshotMakesTheValidatorReadyWhileTheIdpIsDown() {
    try (TestIssuer idp = issuer()) {
      idp.goDown(TestIssuer.Outage.REFUSE);
      JwtValidator withSnapshot =
          JwtValidator.create(
              vertx,
              idp.spec(),
              Validation.AUDIENCES,
              Optional.of(idp.jwks()),
              Validation.registry(),
              Validation.FAST);
      JwtValidator without = create(idp.spec(), Validation.registry(), Validation.FAST);
      try {
        assertThat(withSnapshot.ready()).as("ready at once from the snapshot").isTrue();
        accepted(withSnapshot, idp.token().sign());
        assertThat(without.ready()).isFalse();
        assertRejected(without, idp.token().sign(), RejectionReason.NO_KEYS);

        idp.comeBack();
        TestIssuer.await("ready once the IdP is back", WAIT, without::ready);
        accepted(without, idp.token().sign());
      } finally {
        withSnapshot.close();
        without.close();
      }
    }
  }

  // ---- metrics ----

  @Test
  void metricsAreExposedUnderTheirPrometheusNames() {
    try (TestIssuer idp = issuer()) {
      TokenIssuerSpec spec = idp.spec();
      spec.refreshInterval = "1s";
      PrometheusMeterRegistry registry = Validation.registry();
      JwtValidator v = Validation.readyValidator(vertx, spec, registry);
      try {
        TestIssuer.await(
            "a 304 refresh", WAIT, () -> refreshes(registry, idp.issuer(), "not_modified") >= 1);
        String token = idp.token().sign();
        accepted(v, token);
        accepted(v, token);
        rejected(v, idp.token().audience("api://other").sign());
        String text = registry.scrape();
        String iss = "issuer=\"" + idp.issuer() + "\"";
        assertThat(text)
            .contains(
                "tokengate_jwks_refresh_total{" + iss + ",result=\"ok\",trigger=\"interval\"} 1.0")
            .containsPattern(
                "tokengate_jwks_refresh_total\\{"
                    + iss.replace(".", "\\.")
                    + ",result=\"not_modified\",trigger=\"interval\"} [1-9]")
            .contains(
                "tokengate_jwks_refresh_total{"
                    + iss
                    + ",result=\"error\",trigger=\"interval\"} 0.0")
            .contains(
                "tokengate_jwks_refresh_total{"
                    + iss
                    + ",result=\"ok\",trigger=\"unknown_kid\"} 0.0")
            .contains("tokengate_jwks_keys{" + iss + "} 1.0")
            .contains("tokengate_token_cache_total{result=\"hit\"} 1.0")
            .contains("tokengate_token_cache_total{result=\"miss\"} 2.0")
            .contains("tokengate_token_validation_seconds_count{" + iss + ",result=\"valid\"} 2")
            .contains("tokengate_token_validation_seconds_count{" + iss + ",result=\"invalid\"} 1")
            .contains("tokengate_token_validation_seconds_bucket{" + iss);
        assertThat(text).doesNotContain(token.substring(token.lastIndexOf('.') + 1));
      } finally {
        v.close();
      }
      assertThat(registry.scrape())
          .as("with its cache closed the gauge reads 0")
          .contains("tokengate_jwks_keys{issuer=\"" + idp.issuer() + "\"} 0.0");
    }
  }

  @Test
  void theKeysGaugeFollowsTheNewestOpenCacheOfAnIssuer() {
    TestIssuer idp = issuer();
    idp.publish(SigningKey.ec("ec-2"));
    TokenIssuerSpec one = idp.spec();
    one.discovery = false;
    one.jwks =
        new Jwks(castKeys((List<?>) idp.jwks().toJSONObject(true).get("keys")).subList(0, 1));
    TokenIssuerSpec two = idp.spec();
    two.discovery = false;
    two.jwks = new Jwks(castKeys((List<?>) idp.jwks().toJSONObject(true).get("keys")));
    idp.close();
    PrometheusMeterRegistry registry = Validation.registry();
    java.util.function.DoubleSupplier gauge =
        () -> registry.find("tokengate.jwks.keys").tag("issuer", one.issuer).gauge().value();
    JwksCache serving = JwksCache.start(vertx, one, Optional.empty(), registry, Validation.FAST);
    assertThat(gauge.getAsDouble()).isEqualTo(1);
    // A reload builds a candidate for the same issuer: the gauge follows it...
    JwksCache candidate = JwksCache.start(vertx, two, Optional.empty(), registry, Validation.FAST);
    assertThat(gauge.getAsDouble()).isEqualTo(2);
    // ...and back to the serving cache when the candidate is refused.
    candidate.close();
    assertThat(gauge.getAsDouble()).isEqualTo(1);
    serving.close();
    assertThat(gauge.getAsDouble()).isZero();
  }
}
