package io.tokengate.sidecar.validation;

import com.nimbusds.jwt.JWTClaimsSet;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tokengate.api.v1alpha1.Durations;
import io.tokengate.api.v1alpha1.tokenissuer.ClientAuthMethod;
import io.tokengate.api.v1alpha1.tokenissuer.Introspection;
import io.tokengate.api.v1alpha1.tokenissuer.IntrospectionMode;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * An issuer's validator with OAuth 2.0 token introspection (RFC 7662): a token that is not a JWT is
 * sent to the issuer's introspection endpoint; with {@code mode: Always}, a JWT is too, once its
 * local validation passed (so a revoked JWT is refused before its {@code exp}). Other JWTs go to
 * the issuer's {@link JwtValidator} alone.
 *
 * <h2>What is checked in the answer</h2>
 *
 * {@code active} must be {@code true} ({@code inactive}); {@code token_type}, if present, must name
 * an access token: {@code Bearer}, {@code DPoP}, {@code access_token} or the RFC 8693 access token
 * URN ({@code not_an_access_token}); {@code iss}, if present, equals the issuer ({@code
 * wrong_issuer}); {@code aud} names one of the accepted audiences ({@code wrong_audience}); {@code
 * exp} not past and {@code nbf} not future, with the issuer's clock skew. The answer's members
 * become the token's claims, so scopes, roles, {@code cnf} (DPoP binding) and forwarded claims work
 * as for a JWT.
 *
 * <h2>Failure model, cost and secrecy</h2>
 *
 * The endpoint unreachable, slow (the fetch timeout), answering non-200 (a refused client secret),
 * not JSON or too busy is a 503 {@code introspection_failed}: never an allowed request. Answers are
 * cached by the token's SHA-256: active ones until {@code min(exp, now + cacheTtl)}, inactive ones
 * for {@code min(10 s, cacheTtl)}; concurrent requests with the same token share one call. At most
 * {@value #CONNECTIONS} connections to the endpoint, {@value #WAIT_QUEUE} calls waiting beyond
 * them. Nothing blocks an event loop. The client secret and tokens are never logged.
 *
 * <p>Metrics: {@code tokengate_introspection_seconds{issuer,result=active|inactive|error}} and
 * {@code tokengate_introspection_cache_total{result=hit|miss|joined}}.
 */
public final class IntrospectingValidator implements TokenValidator {
  private static final System.Logger LOG = System.getLogger(IntrospectingValidator.class.getName());
  static final int CONNECTIONS = 16;
  static final int WAIT_QUEUE = 1024;
  static final long NEGATIVE_TTL_MILLIS = 10_000;
  private static final long DISCOVERY_RETRY_MILLIS = 5_000;
  private static final Set<String> ACCESS_TOKEN_TYPES =
      Set.of("bearer", "dpop", "access_token", "urn:ietf:params:oauth:token-type:access_token");
  private static final List<String> CLIENT_ID_MEMBERS = List.of("client_id", "azp");

  private final TokenValidator jwt;
  private final IntrospectionMode mode;
  private final String issuer;
  private final Set<String> audiences;
  private final long skewMillis;
  private final long ceilingMillis;
  private final ValidationTuning tuning;
  private final IdpClient client;
  private final String clientId;
  private final String clientSecret;
  private final ClientAuthMethod authMethod;
  private final String fixedEndpoint;
  private final IntrospectionCache cache;
  private final Map<ByteBuffer, Future<IntrospectionCache.Answer>> inFlight =
      new ConcurrentHashMap<>();
  private final Timer active;
  private final Timer inactive;
  private final Timer error;
  private final Counter hits;
  private final Counter misses;
  private final Counter joined;
  private volatile Future<String> discovered;
  private volatile long discoveredAtMillis;

  private IntrospectingValidator(
      Vertx vertx,
      TokenValidator jwt,
      TokenIssuerSpec spec,
      List<String> audiences,
      String clientSecret,
      MeterRegistry registry,
      ValidationTuning tuning) {
    Introspection settings = spec.introspection;
    this.jwt = jwt;
    this.mode = settings.mode == null ? IntrospectionMode.OpaqueOnly : settings.mode;
    this.issuer = spec.issuer;
    this.audiences = Set.copyOf(audiences);
    this.skewMillis = spec.clockSkewSeconds * 1000L;
    this.ceilingMillis =
        Durations.parse(settings.cacheTtl == null ? "60s" : settings.cacheTtl).toMillis();
    this.tuning = tuning;
    this.clientId = settings.clientId;
    this.clientSecret = clientSecret;
    this.authMethod =
        settings.authMethod == null ? ClientAuthMethod.client_secret_basic : settings.authMethod;
    this.fixedEndpoint = settings.endpoint;
    this.client =
        new IdpClient(
            vertx,
            spec.caBundle,
            spec.allowInsecureHttp,
            tuning.fetchTimeout().toMillis(),
            tuning.maxDocumentBytes(),
            CONNECTIONS,
            WAIT_QUEUE);
    this.cache = new IntrospectionCache(tuning.tokenCacheEntries());
    this.active = timer(registry, "active");
    this.inactive = timer(registry, "inactive");
    this.error = timer(registry, "error");
    this.hits = cacheCounter(registry, "hit");
    this.misses = cacheCounter(registry, "miss");
    this.joined = cacheCounter(registry, "joined");
  }

  /**
   * Wraps {@code jwt}, the validator of the same issuer, with the introspection of {@code
   * spec.introspection}.
   *
   * @param clientSecret the client secret (read from its file by the configuration loader)
   * @throws IllegalArgumentException when the settings cannot work; the message names the field
   */
  public static IntrospectingValidator create(
      Vertx vertx,
      TokenValidator jwt,
      TokenIssuerSpec spec,
      List<String> audiences,
      String clientSecret,
      MeterRegistry registry,
      ValidationTuning tuning) {
    if (spec.introspection == null) {
      throw new IllegalArgumentException("issuer " + spec.issuer + " has no spec.introspection");
    }
    if (spec.introspection.clientId == null || spec.introspection.clientId.isBlank()) {
      throw new IllegalArgumentException("spec.introspection.clientId is required");
    }
    if (clientSecret == null || clientSecret.isEmpty()) {
      throw new IllegalArgumentException(
          "spec.introspection: no client secret (clientSecretFile is missing or empty)");
    }
    return new IntrospectingValidator(vertx, jwt, spec, audiences, clientSecret, registry, tuning);
  }

  /** True for a token that is not shaped like a compact JWS: it is introspected in every mode. */
  static boolean opaque(String token) {
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (second < 0 || token.indexOf('.', second + 1) >= 0) {
      return true;
    }
    byte[] header = CompactJws.decodeStrict(token, 0, first);
    return header == null || header.length == 0 || header[0] != '{';
  }

  @Override
  public Future<VerifiedToken> validate(String token) {
    if (token == null || token.isEmpty() || token.length() > CompactJws.MAX_TOKEN_CHARS) {
      return jwt.validate(token);
    }
    if (opaque(token)) {
      return introspect(token);
    }
    if (mode != IntrospectionMode.Always) {
      return jwt.validate(token);
    }
    // The local checks first: a forged or foreign JWT never costs an IdP call.
    return jwt.validate(token).compose(local -> introspect(token).map(remote -> local));
  }

  @Override
  public boolean ready() {
    return jwt.ready();
  }

  @Override
  public void close() {
    jwt.close();
    client.close();
  }

  /** Answers remembered now (for tests and metrics). */
  int cachedAnswers() {
    return cache.size();
  }

  private Future<VerifiedToken> introspect(String token) {
    ByteBuffer key = VerifiedTokenCache.keyOf(token);
    long now = tuning.clock().millis();
    IntrospectionCache.Answer cached = cache.get(key, now);
    if (cached != null) {
      hits.increment();
      return outcome(cached);
    }
    Future<IntrospectionCache.Answer> pending = inFlight.get(key);
    if (pending != null) {
      joined.increment();
      return pending.compose(this::outcome);
    }
    misses.increment();
    Promise<IntrospectionCache.Answer> promise = Promise.promise();
    Future<IntrospectionCache.Answer> mine = promise.future();
    Future<IntrospectionCache.Answer> raced = inFlight.putIfAbsent(key, mine);
    if (raced != null) {
      joined.increment();
      return raced.compose(this::outcome);
    }
    long start = System.nanoTime();
    endpoint()
        .compose(url -> client.postForm(url, form(token), authorization()))
        .onComplete(
            ar -> {
              try {
                if (ar.failed()) {
                  error.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
                  LOG.log(
                      Level.WARNING,
                      "issuer {0}: introspection failed: {1}",
                      issuer,
                      ar.cause().getMessage());
                  promise.fail(
                      GateFailure.of(
                          503,
                          RejectionReason.INTROSPECTION_FAILED,
                          "the token issuer's introspection endpoint gave no answer; retry"));
                  return;
                }
                IntrospectionCache.Answer answer = judge(ar.result());
                (answer.token() != null ? active : inactive)
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
                long at = tuning.clock().millis();
                cache.put(key, answer, at, usableUntil(answer, at));
                promise.complete(answer);
              } catch (GateFailure f) {
                error.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
                promise.fail(f);
              } finally {
                inFlight.remove(key, mine);
              }
            });
    return mine.compose(this::outcome);
  }

  private Future<VerifiedToken> outcome(IntrospectionCache.Answer answer) {
    if (answer.token() == null) {
      return Future.failedFuture(answer.refusal());
    }
    long now = tuning.clock().millis();
    if (now > answer.token().expiresAt().toEpochMilli() + skewMillis) {
      return Future.failedFuture(
          GateFailure.invalidToken(RejectionReason.EXPIRED, "the token has expired"));
    }
    return Future.succeededFuture(answer.token());
  }

  private long usableUntil(IntrospectionCache.Answer answer, long now) {
    if (answer.token() == null) {
      return now + Math.min(NEGATIVE_TTL_MILLIS, ceilingMillis);
    }
    return Math.min(answer.token().expiresAt().toEpochMilli(), now + ceilingMillis);
  }

  /**
   * The verdict on an introspection answer: an active access token for this API, or the refusal
   * that is cached like it. A malformed answer throws (503, not cached).
   */
  private IntrospectionCache.Answer judge(Map<String, Object> json) {
    if (!Boolean.TRUE.equals(json.get("active"))) {
      return refusal(
          RejectionReason.INACTIVE, "the token is not active (revoked, expired or unknown)");
    }
    if (json.get("token_type") instanceof String type
        && !ACCESS_TOKEN_TYPES.contains(type.toLowerCase(java.util.Locale.ROOT))) {
      return refusal(RejectionReason.NOT_AN_ACCESS_TOKEN, "the token is not an access token");
    }
    JWTClaimsSet claims;
    try {
      claims = JWTClaimsSet.parse(json);
    } catch (ParseException e) {
      throw GateFailure.of(
          503,
          RejectionReason.INTROSPECTION_FAILED,
          "the token issuer's introspection answer could not be read");
    }
    if (json.containsKey("iss") && !issuer.equals(json.get("iss"))) {
      return refusal(RejectionReason.WRONG_ISSUER, "the token is from another issuer");
    }
    List<String> aud = claims.getAudience();
    if (aud.stream().noneMatch(audiences::contains)) {
      return refusal(
          RejectionReason.WRONG_AUDIENCE,
          aud.isEmpty()
              ? "the introspection answer names no aud"
              : "the token's aud names none of the audiences this API accepts");
    }
    long now = tuning.clock().millis();
    if (claims.getExpirationTime() != null
        && now > claims.getExpirationTime().getTime() + skewMillis) {
      return refusal(RejectionReason.EXPIRED, "the token has expired");
    }
    if (claims.getNotBeforeTime() != null
        && claims.getNotBeforeTime().getTime() > now + skewMillis) {
      return refusal(RejectionReason.NOT_YET_VALID, "the token is not valid yet (nbf)");
    }
    String client = null;
    for (String name : CLIENT_ID_MEMBERS) {
      if (json.get(name) instanceof String s && !s.isEmpty()) {
        client = s;
        break;
      }
    }
    Instant expires =
        claims.getExpirationTime() != null
            ? claims.getExpirationTime().toInstant()
            : Instant.ofEpochMilli(now + ceilingMillis);
    return new IntrospectionCache.Answer(
        new VerifiedToken(claims, issuer, claims.getSubject(), client, expires), null);
  }

  private static IntrospectionCache.Answer refusal(String reason, String description) {
    return new IntrospectionCache.Answer(null, GateFailure.invalidToken(reason, description));
  }

  /**
   * The configured endpoint, else discovery's, fetched once (again at most every 5 s on failure).
   */
  private Future<String> endpoint() {
    if (fixedEndpoint != null) {
      return Future.succeededFuture(fixedEndpoint);
    }
    Future<String> d = discovered;
    long now = System.currentTimeMillis();
    if (d == null || (d.failed() && now - discoveredAtMillis > DISCOVERY_RETRY_MILLIS)) {
      synchronized (this) {
        if (discovered == d) {
          discoveredAtMillis = now;
          discovered = client.discoverIntrospectionEndpoint(issuer);
        }
        d = discovered;
      }
    }
    return d;
  }

  private String form(String token) {
    StringBuilder form =
        new StringBuilder("token=")
            .append(URLEncoder.encode(token, StandardCharsets.UTF_8))
            .append("&token_type_hint=access_token");
    if (authMethod == ClientAuthMethod.client_secret_post) {
      form.append("&client_id=")
          .append(URLEncoder.encode(clientId, StandardCharsets.UTF_8))
          .append("&client_secret=")
          .append(URLEncoder.encode(clientSecret, StandardCharsets.UTF_8));
    }
    return form.toString();
  }

  private String authorization() {
    if (authMethod != ClientAuthMethod.client_secret_basic) {
      return null;
    }
    // RFC 6749 section 2.3.1: both parts form-encoded before Basic encoding.
    String pair =
        URLEncoder.encode(clientId, StandardCharsets.UTF_8)
            + ":"
            + URLEncoder.encode(clientSecret, StandardCharsets.UTF_8);
    return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
  }

  private Timer timer(MeterRegistry registry, String result) {
    return Timer.builder("tokengate.introspection")
        .description("Time of a call to the issuer's token introspection endpoint")
        .tag("issuer", issuer)
        .tag("result", result)
        .publishPercentileHistogram()
        .register(registry);
  }

  private Counter cacheCounter(MeterRegistry registry, String result) {
    return Counter.builder("tokengate.introspection.cache")
        .description("Introspection answer cache lookups (joined: waited for a call in flight)")
        .tag("issuer", issuer)
        .tag("result", result)
        .register(registry);
  }
}
