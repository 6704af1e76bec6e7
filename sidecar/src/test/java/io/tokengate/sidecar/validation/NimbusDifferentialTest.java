package io.tokengate.sidecar.validation;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.tokengate.sidecar.GateFailure;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import io.tokengate.testing.TokenBuilder;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The sidecar's validator against nimbus' {@link DefaultJWTProcessor}, configured to the policy the
 * validator documents (the issuer's keys, the asymmetric algorithms, {@code typ} absent or a JWT
 * access-token type, {@code iss} exact, one of the audiences, {@code exp} required, 60 s of skew
 * for {@code exp}, {@code nbf} and a future {@code iat}). Two corpora: genuinely signed tokens
 * whose header and claims vary over what the checks look at (so acceptance turns on those checks,
 * not on the signature), and the fuzz test's mutations of genuine tokens. Every token must get the
 * same verdict from both; a disagreement names the token's variation.
 *
 * <p>Ed25519 is left out: nimbus verifies it only with Google Tink, which the sidecar does not ship
 * (the sidecar uses the JDK's Ed25519).
 */
class NimbusDifferentialTest {
  private static final long SEED = 0xD1FF_E2E1L;
  private static final int SIGNED_VARIANTS = 4_000;
  private static final int MUTATIONS = 20_000;
  private static final long SKEW = 60;

  @Test
  void theSidecarAndNimbusAgreeOnEveryToken() throws Exception {
    Vertx vertx = Vertx.vertx();
    SigningKey rsa = SigningKey.rsa("rsa-1");
    SigningKey ps = SigningKey.rsa("ps-1", JWSAlgorithm.PS256);
    SigningKey ec = SigningKey.ec("ec-1");
    // Keys the issuer never published: a token they sign must fail both ways.
    SigningKey stranger = SigningKey.rsa("rsa-1").sameKidNewMaterial();
    try (TestIssuer idp = TestIssuer.builder().key(rsa).key(ps).key(ec).start()) {
      JwtValidator sidecar =
          JwtValidator.create(
              vertx,
              idp.spec(),
              Validation.AUDIENCES,
              Optional.empty(),
              Validation.registry(),
              Validation.FAST.withUnknownKidRefetchInterval(Duration.ofMillis(200)));
      TestIssuer.await("ready", Duration.ofSeconds(10), sidecar::ready);
      DefaultJWTProcessor<SecurityContext> nimbus = nimbus(idp);
      try {
        Random random = new Random(SEED);
        List<String> tokens = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < SIGNED_VARIANTS; i++) {
          StringBuilder label = new StringBuilder();
          tokens.add(variant(idp, random, label, rsa, ps, ec, stranger));
          labels.add(label.toString());
        }
        List<String> genuine =
            List.of(
                idp.token().signedBy(rsa).sign(),
                idp.token().signedBy(ec).type("at+jwt").sign(),
                idp.token().signedBy(ps).kid(null).sign());
        for (int i = 0; i < MUTATIONS; i++) {
          String[] label = new String[1];
          String original = genuine.get(random.nextInt(genuine.size()));
          tokens.add(TokenMutationFuzzTest.mutate(original, random, label, genuine));
          labels.add("mutation: " + label[0]);
        }

        Map<String, Integer> verdicts = new TreeMap<>();
        List<String> disagreements = new ArrayList<>();
        for (int from = 0; from < tokens.size(); from += 2000) {
          int to = Math.min(tokens.size(), from + 2000);
          List<Future<VerifiedToken>> outcomes = new ArrayList<>();
          for (int i = from; i < to; i++) {
            outcomes.add(sidecar.validate(tokens.get(i)));
          }
          for (int i = from; i < to; i++) {
            boolean bySidecar = accepted(outcomes.get(i - from));
            String byNimbus = nimbusVerdict(nimbus, tokens.get(i));
            boolean nimbusAccepts = byNimbus == null;
            verdicts.merge((bySidecar ? "accepted" : "refused") + " by both", 1, (a, b) -> a + b);
            if (bySidecar != nimbusAccepts && disagreements.size() < 20) {
              disagreements.add(
                  labels.get(i)
                      + ": sidecar "
                      + (bySidecar ? "accepts" : "refuses")
                      + ", nimbus "
                      + (nimbusAccepts ? "accepts" : "refuses (" + byNimbus + ")"));
            }
          }
        }
        assertThat(disagreements).as("tokens the two judge differently").isEmpty();
        // Both verdicts occur in numbers: the corpus reaches acceptance, not only refusal.
        assertThat(verdicts.getOrDefault("accepted by both", 0)).isGreaterThan(200);
        assertThat(verdicts.getOrDefault("refused by both", 0)).isGreaterThan(MUTATIONS);
      } finally {
        sidecar.close();
      }
    } finally {
      vertx.close();
    }
  }

  /** nimbus, configured to what {@link JwtValidator} documents. */
  private static DefaultJWTProcessor<SecurityContext> nimbus(TestIssuer idp) {
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSTypeVerifier(
        new DefaultJOSEObjectTypeVerifier<>(
            JOSEObjectType.JWT,
            new JOSEObjectType("at+jwt"),
            new JOSEObjectType("application/at+jwt"),
            null));
    p.setJWSKeySelector(
        new JWSVerificationKeySelector<>(
            Set.of(
                JWSAlgorithm.RS256,
                JWSAlgorithm.RS384,
                JWSAlgorithm.RS512,
                JWSAlgorithm.PS256,
                JWSAlgorithm.PS384,
                JWSAlgorithm.PS512,
                JWSAlgorithm.ES256,
                JWSAlgorithm.ES384,
                JWSAlgorithm.ES512),
            new ImmutableJWKSet<>(idp.jwks())));
    DefaultJWTClaimsVerifier<SecurityContext> claims =
        new DefaultJWTClaimsVerifier<>(
            Set.copyOf(Validation.AUDIENCES),
            new JWTClaimsSet.Builder().issuer(idp.issuer()).build(),
            Set.of("exp"),
            null) {
          @Override
          public void verify(JWTClaimsSet claimsSet, SecurityContext context)
              throws BadJWTException {
            super.verify(claimsSet, context);
            // nimbus leaves iat alone; the sidecar refuses a token issued in the future.
            if (claimsSet.getIssueTime() != null
                && claimsSet.getIssueTime().toInstant().isAfter(Instant.now().plusSeconds(SKEW))) {
              throw new BadJWTException("iat in the future");
            }
          }
        };
    claims.setMaxClockSkew((int) SKEW);
    p.setJWTClaimsSetVerifier(claims);
    return p;
  }

  /**
   * Null when nimbus accepts, else why it refuses. nimbus decodes base64url leniently (it skips
   * characters outside the alphabet, such as an inserted {@code =}, space or {@code +}), so a token
   * whose signature part gained such a character still verifies there: one token, several
   * spellings. The sidecar takes only the canonical spelling (three parts of the base64url
   * alphabet, no padding, no stray trailing bits), and so does this reference, before nimbus.
   */
  private static String nimbusVerdict(DefaultJWTProcessor<SecurityContext> nimbus, String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      return "not three parts";
    }
    for (String part : parts) {
      if (!part.matches("[A-Za-z0-9_-]*")
          || !com.nimbusds.jose.util.Base64URL.encode(
                  new com.nimbusds.jose.util.Base64URL(part).decode())
              .toString()
              .equals(part)) {
        return "not canonical base64url";
      }
    }
    try {
      nimbus.process(token, null);
      return null;
    } catch (java.text.ParseException | BadJOSEException | com.nimbusds.jose.JOSEException e) {
      return e.getClass().getSimpleName() + ": " + e.getMessage();
    } catch (RuntimeException e) {
      return "nimbus threw " + e;
    }
  }

  private static boolean accepted(Future<VerifiedToken> f) {
    try {
      f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return true;
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof GateFailure)) {
        throw new AssertionError("the sidecar failed with " + e.getCause(), e.getCause());
      }
      return false;
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the sidecar gave no verdict", e);
    }
  }

  /**
   * A token signed for real, with a header and claims drawn from what the checks look at; values of
   * time claims stay well clear of the skew boundaries, so the two checks, a few milliseconds
   * apart, see the same side of them.
   */
  private static String variant(
      TestIssuer idp,
      Random r,
      StringBuilder label,
      SigningKey rsa,
      SigningKey ps,
      SigningKey ec,
      SigningKey stranger) {
    SigningKey key = pick(r, label, "key", rsa, rsa, ps, ec, stranger);
    if (key == stranger) {
      label.append(" (unpublished material)");
    }
    TokenBuilder t = idp.token().signedBy(key);
    switch (r.nextInt(8)) {
      case 0 -> {
        String alg = key == ec ? "ES384" : key == ps ? "RS256" : "PS256";
        label.append(" header alg=").append(alg).append(" (not the key's)");
        t.header("alg", alg);
      }
      case 1 -> {
        label.append(" no kid");
        t.kid(null);
      }
      case 2 -> {
        label.append(" unknown kid");
        t.kid("k-" + r.nextInt(3));
      }
      default -> {}
    }
    String typ = pick(r, label, "typ", "JWT", "JWT", null, "at+jwt", "application/at+jwt", "JOSE");
    t.type(typ);
    if (r.nextInt(12) == 0) {
      label.append(" crit=[exp]");
      t.header("crit", List.of("exp")).header("exp", 1);
    }
    long now = Instant.now().getEpochSecond();
    String iss =
        pick(r, label, "iss", idp.issuer(), idp.issuer(), idp.issuer() + "/", "https://evil", null);
    t.claim("iss", iss);
    switch (r.nextInt(7)) {
      case 0 -> {
        label.append(" aud=[other, ours]");
        t.audienceArray("api://other", TestIssuer.DEFAULT_AUDIENCE);
      }
      case 1 -> {
        label.append(" aud=other");
        t.audience("api://other");
      }
      case 2 -> {
        label.append(" aud absent");
        t.claim("aud", null);
      }
      case 3 -> {
        label.append(" aud=[]");
        t.claim("aud", List.of());
      }
      default -> {}
    }
    long exp =
        pick(
            r, label, "exp-now", 3600L, 3600L, 300L, SKEW - 30, -(SKEW - 30), -(SKEW + 60), -3600L);
    if (r.nextInt(15) == 0) {
      label.append(" exp absent");
      t.withoutExpiry();
    } else {
      t.claim("exp", now + exp);
    }
    if (r.nextInt(4) == 0) {
      long nbf = pick(r, label, "nbf-now", -10L, SKEW - 30, SKEW + 60, 3600L);
      t.claim("nbf", now + nbf);
    }
    if (r.nextInt(4) == 0) {
      long iat = pick(r, label, "iat-now", -10L, SKEW - 30, SKEW + 60, 3600L);
      t.claim("iat", now + iat);
    }
    return t.sign();
  }

  @SafeVarargs
  private static <T> T pick(Random r, StringBuilder label, String what, T... options) {
    T chosen = options[r.nextInt(options.length)];
    label.append(' ').append(what).append('=').append(chosen);
    return chosen;
  }
}
