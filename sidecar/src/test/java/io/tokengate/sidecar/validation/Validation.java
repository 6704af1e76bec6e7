package io.tokengate.sidecar.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.GateFailure;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Shared test plumbing: a Vert.x instance, short intervals, and awaiting validation outcomes. */
final class Validation {
  /**
   * Production defaults with intervals short enough for tests; the fetch timeout stays generous,
   * because a loaded CI machine can take seconds to answer the first request.
   */
  static final ValidationTuning FAST =
      ValidationTuning.DEFAULTS
          .withUnknownKidRefetchInterval(Duration.ofMillis(500))
          .withFetchTimeout(Duration.ofSeconds(5))
          .withRetry(Duration.ofMillis(100), Duration.ofSeconds(1));

  static final List<String> AUDIENCES = List.of(TestIssuer.DEFAULT_AUDIENCE);

  private Validation() {}

  static PrometheusMeterRegistry registry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  /** A validator for {@code idp} with {@link #FAST} tuning, waited on until it holds keys. */
  static JwtValidator readyValidator(Vertx vertx, TestIssuer idp) {
    return readyValidator(vertx, idp.spec(), registry());
  }

  static JwtValidator readyValidator(Vertx vertx, TokenIssuerSpec spec, PrometheusMeterRegistry r) {
    JwtValidator v = JwtValidator.create(vertx, spec, AUDIENCES, Optional.empty(), r, FAST);
    TestIssuer.await("validator ready", Duration.ofSeconds(10), v::ready);
    return v;
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("expected success, got " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no outcome within 15 s", e);
    }
  }

  /**
   * A fresh, distinct token of {@code idp} (its own jti), so the verified-token cache never
   * answers.
   */
  static String fresh(TestIssuer idp) {
    return idp.token().claim("jti", java.util.UUID.randomUUID().toString()).sign();
  }

  static VerifiedToken accepted(TokenValidator v, String token) {
    return await(v.validate(token));
  }

  /** The failure of validating {@code token}; fails the test if it was accepted. */
  static GateFailure rejected(TokenValidator v, String token) {
    Future<VerifiedToken> f = v.validate(token);
    try {
      VerifiedToken t = f.toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
      return fail("token was accepted but must not be: claims " + t.claims());
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(GateFailure.class);
      return (GateFailure) e.getCause();
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no outcome within 15 s", e);
    }
  }

  static void assertRejected(TokenValidator v, String token, String reason) {
    GateFailure f = rejected(v, token);
    assertThat(f.reason()).as("reason (%s)", f.description()).isEqualTo(reason);
    if (!reason.equals(RejectionReason.NO_KEYS)) {
      assertThat(f.status()).isEqualTo(401);
      assertThat(f.error()).isEqualTo("invalid_token");
    }
    assertThat(f.description()).isNotBlank();
    if (token.length() > 16) {
      assertThat(f.description()).doesNotContain(token);
    }
  }
}
