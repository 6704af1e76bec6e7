package io.tokengate.sidecar.validation;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tokengate.api.v1alpha1.tokenissuer.Algorithm;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.GateFailure;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Validates compact JWS access tokens of one issuer for one set of audiences.
 *
 * <h2>Creating one</h2>
 *
 * <pre>{@code
 * TokenValidator v = JwtValidator.create(vertx, issuerSpec, audiences, snapshot, registry);
 * // or with tuning (intervals, timeouts, cache size):
 * TokenValidator v = JwtValidator.create(vertx, issuerSpec, audiences, snapshot, registry, tuning);
 * // or sharing one issuer's keys between validators (e.g. across a config reload):
 * JwksCache keys = JwksCache.start(vertx, issuerSpec, snapshot, registry, tuning);
 * TokenValidator v = JwtValidator.create(keys, issuerSpec, audiences, registry, tuning);
 * }</pre>
 *
 * The first two own their {@link JwksCache} and close it in {@link #close()}; the third does not.
 * Bad configuration throws {@link IllegalArgumentException} naming the field.
 *
 * <h2>What is checked, in this order</h2>
 *
 * <ol>
 *   <li>Structure ({@link CompactJws}): three canonical base64url parts, JSON header and claims
 *       ({@code malformed}); five parts or {@code enc} ({@code jwe_not_supported}); {@code alg}
 *       exactly one of {@code spec.algorithms} (default: all asymmetric), never {@code none} in any
 *       casing nor HMAC, before any key is looked up ({@code unsupported_algorithm}); any {@code
 *       crit} ({@code unsupported_critical_header}); {@code typ} absent, {@code JWT}, {@code
 *       at+jwt} or {@code application/at+jwt} ({@code unsupported_type}).
 *   <li>{@code iss} equals {@code spec.issuer} exactly ({@code wrong_issuer}); checked before the
 *       key lookup so foreign tokens never cause JWKS fetches. A multi-tenant issuer ({@code
 *       spec.tenants}) instead needs {@code iss} to be its {@link IssuerTemplate} with a tenant id
 *       in canonical form in place of {@code {tenantid}}.
 *   <li>Key: by {@code kid} among the issuer's keys whose type fits {@code alg} (RSA for RS/PS, EC
 *       of the right curve for ES, Ed25519 for EdDSA; {@code use: enc} keys are never held). An
 *       unknown kid waits for one coalesced, rate-limited refetch ({@code unknown_kid} if still
 *       unknown; {@code no_keys}, a 503, if the issuer has no keys at all). A kid whose keys cannot
 *       verify {@code alg} is {@code bad_signature}. Without a kid, up to {@value
 *       KeySet#MAX_KEYS_TRIED_WITHOUT_KID} keys of the right type are tried. {@code jku}, {@code
 *       x5u}, {@code jwk} and {@code x5c} headers are never used.
 *   <li>Signature, by nimbus' RSA/ECDSA verifiers (which refuse out-of-range ECDSA signatures such
 *       as the all-zero one of CVE-2022-21449) and the JDK's Ed25519 ({@code bad_signature}).
 *   <li>{@code aud} (string or array) contains one of the audiences ({@code wrong_audience});
 *       {@code exp} present ({@code missing_exp}) and not past ({@code expired}); {@code nbf} not
 *       future ({@code not_yet_valid}); {@code iat} not future ({@code issued_in_future}); all with
 *       {@code spec.clockSkewSeconds}.
 *   <li>Multi-tenant issuer: {@code tid} equals the tenant of {@code iss} ({@code tenant_mismatch})
 *       and that tenant is in {@code spec.tenants}, unless it is {@code ["*"]} ({@code
 *       tenant_not_allowed}). Checked after the signature, so unsigned tokens cannot probe which
 *       tenants an API accepts.
 * </ol>
 *
 * Verified tokens are cached (see {@link VerifiedTokenCache}); a hit still re-checks {@code exp}.
 *
 * <h2>Metrics</h2>
 *
 * {@code tokengate_token_validation_seconds{issuer,result=valid|invalid}} (timer with a percentile
 * histogram) and {@code tokengate_token_cache_total{result=hit|miss}}; the key cache adds {@code
 * tokengate_jwks_refresh_total} and {@code tokengate_jwks_keys}.
 *
 * <p>Threading: {@link #validate} may be called from any event loop; it completes synchronously
 * when the key is held and otherwise on the caller's context once the refetch settled. Nothing
 * blocks. Logs carry the issuer, kid and reason, never the token or key material.
 */
public final class JwtValidator implements TokenValidator {
  private static final System.Logger LOG = System.getLogger(JwtValidator.class.getName());
  private static final List<String> CLIENT_ID_CLAIMS = List.of("azp", "client_id", "appid", "cid");

  private final JwksCache keys;
  private final boolean ownsKeys;
  private final String issuer;
  private final IssuerTemplate template;
  private final Set<String> tenants;
  private final Set<String> audiences;
  private final Set<JWSAlgorithm> algorithms;
  private final long skewMillis;
  private final ValidationTuning tuning;
  private final VerifiedTokenCache cache;
  private final Timer validTimer;
  private final Timer invalidTimer;
  private final Counter cacheHits;
  private final Counter cacheMisses;

  private JwtValidator(
      JwksCache keys,
      boolean ownsKeys,
      TokenIssuerSpec spec,
      List<String> audiences,
      MeterRegistry registry,
      ValidationTuning tuning) {
    this.keys = keys;
    this.ownsKeys = ownsKeys;
    this.issuer = spec.issuer;
    this.template = IssuerTemplate.of(spec).orElse(null);
    this.tenants =
        spec.tenants == null || spec.tenants.contains(IssuerTemplate.ALL_TENANTS)
            ? null
            : Set.copyOf(spec.tenants);
    this.audiences = Set.copyOf(audiences);
    this.algorithms = algorithms(spec.algorithms);
    this.skewMillis = spec.clockSkewSeconds * 1000L;
    this.tuning = tuning;
    this.cache =
        new VerifiedTokenCache(tuning.tokenCacheEntries(), tuning.tokenCacheTtl().toMillis());
    this.validTimer = timer(registry, "valid");
    this.invalidTimer = timer(registry, "invalid");
    this.cacheHits = cacheCounter(registry, "hit");
    this.cacheMisses = cacheCounter(registry, "miss");
  }

  /** A validator with its own key cache and {@link ValidationTuning#DEFAULTS}. */
  public static JwtValidator create(
      Vertx vertx,
      TokenIssuerSpec issuer,
      List<String> audiences,
      Optional<JWKSet> snapshot,
      MeterRegistry registry) {
    return create(vertx, issuer, audiences, snapshot, registry, ValidationTuning.DEFAULTS);
  }

  /** A validator with its own key cache. */
  public static JwtValidator create(
      Vertx vertx,
      TokenIssuerSpec issuer,
      List<String> audiences,
      Optional<JWKSet> snapshot,
      MeterRegistry registry,
      ValidationTuning tuning) {
    checkSettings(issuer, audiences);
    JwksCache cache = JwksCache.start(vertx, issuer, snapshot, registry, tuning);
    return new JwtValidator(cache, true, issuer, audiences, registry, tuning);
  }

  /** A validator using {@code keys}, which it does not close; {@code issuer} must be its issuer. */
  public static JwtValidator create(
      JwksCache keys,
      TokenIssuerSpec issuer,
      List<String> audiences,
      MeterRegistry registry,
      ValidationTuning tuning) {
    checkSettings(issuer, audiences);
    if (!keys.issuer().equals(issuer.issuer)) {
      throw new IllegalArgumentException(
          "the key cache belongs to issuer " + keys.issuer() + ", not " + issuer.issuer);
    }
    return new JwtValidator(keys, false, issuer, audiences, registry, tuning);
  }

  @Override
  public Future<VerifiedToken> validate(String token) {
    long start = System.nanoTime();
    try {
      KeySet held = keys.keys();
      long now = tuning.clock().millis();
      ByteBuffer cacheKey = null;
      if (cache.enabled() && token != null && token.length() <= CompactJws.MAX_TOKEN_CHARS) {
        cacheKey = VerifiedTokenCache.keyOf(token);
        VerifiedToken hit = cache.get(cacheKey, held.generation(), now);
        if (hit != null && now <= hit.expiresAt().toEpochMilli() + skewMillis) {
          cacheHits.increment();
          return finish(start, Future.succeededFuture(hit));
        }
        cacheMisses.increment();
      }
      CompactJws jws = CompactJws.parse(token, algorithms);
      checkIssuer(jws.claims());
      String kid = jws.header().getKeyID();
      List<IssuerKey> candidates = held.candidates(kid, jws.header().getAlgorithm());
      if (!candidates.isEmpty() || (kid != null && held.hasKid(kid))) {
        return finish(start, Future.succeededFuture(verify(jws, held, cacheKey)));
      }
      return finish(start, afterRefetch(jws, kid, cacheKey));
    } catch (GateFailure f) {
      return finish(start, Future.failedFuture(f));
    }
  }

  @Override
  public boolean ready() {
    return keys.ready();
  }

  @Override
  public void close() {
    if (ownsKeys) {
      keys.close();
    }
  }

  /** The key cache this validator uses. */
  public JwksCache keys() {
    return keys;
  }

  private Future<VerifiedToken> afterRefetch(CompactJws jws, String kid, ByteBuffer cacheKey) {
    Context caller = Vertx.currentContext();
    Promise<VerifiedToken> result = Promise.promise();
    Future<KeySet> settled =
        keys.keys().isEmpty() ? keys.pendingFetch() : keys.refetchForUnknownKid();
    settled.onComplete(
        ar -> {
          Runnable decide =
              () -> {
                KeySet now = keys.keys();
                try {
                  if (now.isEmpty()) {
                    throw GateFailure.of(
                        503,
                        RejectionReason.NO_KEYS,
                        "the signing keys of the token issuer are not available yet");
                  }
                  if (now.candidates(kid, jws.header().getAlgorithm()).isEmpty()
                      && (kid == null || !now.hasKid(kid))) {
                    LOG.log(
                        Level.INFO,
                        "issuer {0}: token names unknown kid {1}",
                        issuer,
                        printable(kid));
                    throw GateFailure.invalidToken(
                        RejectionReason.UNKNOWN_KID,
                        kid == null
                            ? "no key of the issuer fits the token's algorithm"
                            : "the token's key id is not among the issuer's keys");
                  }
                  result.complete(verify(jws, now, cacheKey));
                } catch (GateFailure f) {
                  result.fail(f);
                }
              };
          if (caller != null && Vertx.currentContext() != caller) {
            caller.runOnContext(v -> decide.run());
          } else {
            decide.run();
          }
        });
    return result.future();
  }

  private VerifiedToken verify(CompactJws jws, KeySet held, ByteBuffer cacheKey) {
    JWSAlgorithm alg = jws.header().getAlgorithm();
    String kid = jws.header().getKeyID();
    List<IssuerKey> candidates = held.candidates(kid, alg);
    if (candidates.isEmpty()) {
      throw GateFailure.invalidToken(
          RejectionReason.BAD_SIGNATURE,
          "the key named by the token's key id cannot verify its algorithm");
    }
    boolean verified = false;
    for (IssuerKey key : candidates) {
      try {
        if (key.verifier().verify(jws.header(), jws.signingInput(), jws.signature())) {
          verified = true;
          break;
        }
      } catch (JOSEException | RuntimeException e) {
        // A signature the verifier cannot process (wrong length, out-of-range values) is invalid.
      }
    }
    if (!verified) {
      throw GateFailure.invalidToken(RejectionReason.BAD_SIGNATURE, "the signature is invalid");
    }
    VerifiedToken token = checkClaims(jws.claims());
    if (cacheKey != null) {
      long now = tuning.clock().millis();
      cache.put(
          cacheKey, token, held.generation(), now, token.expiresAt().toEpochMilli() + skewMillis);
    }
    return token;
  }

  private void checkIssuer(JWTClaimsSet claims) {
    String iss = claims.getIssuer();
    if (template != null) {
      if (template.tenantOf(iss) == null) {
        throw GateFailure.invalidToken(
            RejectionReason.WRONG_ISSUER,
            iss == null
                ? "the token has no iss"
                : "the token's iss is not a tenant issuer of the form " + template);
      }
      return;
    }
    if (!issuer.equals(iss)) {
      throw GateFailure.invalidToken(
          RejectionReason.WRONG_ISSUER,
          iss == null ? "the token has no iss" : "the token is from another issuer");
    }
  }

  /** The tenant of a multi-tenant issuer's token: named alike by iss and tid, and allowed. */
  private void checkTenant(JWTClaimsSet claims) {
    String tenant = template.tenantOf(claims.getIssuer());
    if (!(claims.getClaim("tid") instanceof String tid) || !tid.equals(tenant)) {
      throw GateFailure.invalidToken(
          RejectionReason.TENANT_MISMATCH,
          "the token's tid claim does not name the tenant of its iss");
    }
    if (tenants != null && !tenants.contains(tenant)) {
      throw GateFailure.invalidToken(
          RejectionReason.TENANT_NOT_ALLOWED,
          "the token's tenant is not among the tenants this API accepts");
    }
  }

  private VerifiedToken checkClaims(JWTClaimsSet claims) {
    if (template != null) {
      checkTenant(claims);
    }
    List<String> aud = claims.getAudience();
    boolean audienceOk = false;
    for (String a : aud) {
      if (audiences.contains(a)) {
        audienceOk = true;
        break;
      }
    }
    if (!audienceOk) {
      throw GateFailure.invalidToken(
          RejectionReason.WRONG_AUDIENCE,
          aud.isEmpty()
              ? "the token has no aud"
              : "the token's aud names none of the audiences this API accepts");
    }
    long now = tuning.clock().millis();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw GateFailure.invalidToken(RejectionReason.MISSING_EXP, "the token has no exp");
    }
    if (now > exp.getTime() + skewMillis) {
      throw GateFailure.invalidToken(RejectionReason.EXPIRED, "the token has expired");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nbf.getTime() > now + skewMillis) {
      throw GateFailure.invalidToken(
          RejectionReason.NOT_YET_VALID, "the token is not valid yet (nbf)");
    }
    Date iat = claims.getIssueTime();
    if (iat != null && iat.getTime() > now + skewMillis) {
      throw GateFailure.invalidToken(
          RejectionReason.ISSUED_IN_FUTURE, "the token was issued in the future (iat)");
    }
    String clientId = null;
    for (String name : CLIENT_ID_CLAIMS) {
      if (claims.getClaim(name) instanceof String s && !s.isEmpty()) {
        clientId = s;
        break;
      }
    }
    return new VerifiedToken(
        claims, claims.getIssuer(), claims.getSubject(), clientId, exp.toInstant(), issuer);
  }

  private Future<VerifiedToken> finish(long startNanos, Future<VerifiedToken> outcome) {
    if (outcome.isComplete()) {
      record(startNanos, outcome.succeeded());
    } else {
      outcome.onComplete(ar -> record(startNanos, ar.succeeded()));
    }
    return outcome;
  }

  private void record(long startNanos, boolean valid) {
    (valid ? validTimer : invalidTimer)
        .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  private Timer timer(MeterRegistry registry, String result) {
    return Timer.builder("tokengate.token.validation")
        .description("Time to validate a bearer token, including any key refetch it waited for")
        .tag("issuer", issuer)
        .tag("result", result)
        .publishPercentileHistogram()
        .register(registry);
  }

  private static Counter cacheCounter(MeterRegistry registry, String result) {
    return Counter.builder("tokengate.token.cache")
        .description("Verified-token cache lookups")
        .tag("result", result)
        .register(registry);
  }

  private static Set<JWSAlgorithm> algorithms(List<Algorithm> configured) {
    List<Algorithm> list = configured == null ? Algorithm.DEFAULTS : configured;
    Set<JWSAlgorithm> out = new LinkedHashSet<>();
    for (Algorithm a : list) {
      out.add(JWSAlgorithm.parse(a.name()));
    }
    return Set.copyOf(out);
  }

  private static void checkSettings(TokenIssuerSpec issuer, List<String> audiences) {
    if (issuer == null || issuer.issuer == null || issuer.issuer.isBlank()) {
      throw new IllegalArgumentException("spec.issuer is required");
    }
    if (audiences == null || audiences.isEmpty()) {
      throw new IllegalArgumentException(
          "no audiences: set spec.audiences on the ApiPolicy or on issuer " + issuer.issuer);
    }
    for (String a : audiences) {
      if (a == null || a.isBlank()) {
        throw new IllegalArgumentException("spec.audiences must not contain an empty audience");
      }
    }
    if (issuer.algorithms != null && issuer.algorithms.isEmpty()) {
      throw new IllegalArgumentException(
          "spec.algorithms of issuer " + issuer.issuer + " must list at least one algorithm");
    }
    IssuerTemplate.of(issuer); // spec.tenants only on a multi-tenant issuer
    if (issuer.tenants != null) {
      if (issuer.tenants.isEmpty()) {
        throw new IllegalArgumentException(
            "spec.tenants of issuer " + issuer.issuer + " must list tenant ids or '*'");
      }
      for (String t : issuer.tenants) {
        if (!IssuerTemplate.isTenantId(t)
            && !(IssuerTemplate.ALL_TENANTS.equals(t) && issuer.tenants.size() == 1)) {
          throw new IllegalArgumentException(
              "spec.tenants of issuer "
                  + issuer.issuer
                  + ": every entry must be a lower-case tenant GUID, or '*' alone");
        }
      }
    }
    if (issuer.clockSkewSeconds < 0 || issuer.clockSkewSeconds > 600) {
      throw new IllegalArgumentException(
          "spec.clockSkewSeconds must be between 0 and 600, got " + issuer.clockSkewSeconds);
    }
  }

  /** A kid as it may appear in a log line: bounded and free of control characters. */
  static String printable(String kid) {
    if (kid == null) {
      return "(none)";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < kid.length() && i < 64; i++) {
      char c = kid.charAt(i);
      sb.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return kid.length() > 64 ? sb + "..." : sb.toString();
  }
}
