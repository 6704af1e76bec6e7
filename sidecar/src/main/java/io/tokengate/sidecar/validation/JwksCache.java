package io.tokengate.sidecar.validation;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tokengate.api.v1alpha1.Durations;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The signing keys of one issuer, kept fresh without ever blocking a request.
 *
 * <ul>
 *   <li><b>Sources</b>: static {@code spec.jwks} (no network, never refreshed); otherwise {@code
 *       spec.jwksUri}, or the {@code jwks_uri} of OpenID Connect discovery ({@code
 *       <issuer>/.well-known/openid-configuration}, whose {@code issuer} must equal {@code
 *       spec.issuer} exactly, or, with {@code spec.tenants}, its {@link IssuerTemplate}). With
 *       {@code spec.jwksUri} set, discovery is not fetched.
 *   <li><b>Snapshot mode</b>: given a snapshot holding a usable key (the {@code <issuer>.jwks.json}
 *       the operator renders from its own polling of the IdP), the cache holds exactly those keys,
 *       is ready at once and never polls the IdP: the operator does, and a newer snapshot arrives
 *       as a configuration reload, which starts a cache from it. It goes to the IdP only for a
 *       token naming a kid it does not hold (a rotation the snapshot does not show yet), after a
 *       random delay of up to {@link ValidationTuning#unknownKidJitter()} so the pods meeting a new
 *       key together do not reach the IdP in the same instant. So the IdP load of sidecars grows
 *       with rotations, not with pods.
 *   <li><b>Polling mode</b> (no snapshot, or one without a usable key): a fetch right away, then
 *       every {@code spec.refreshInterval} ± {@link ValidationTuning#refreshJitter()}, with {@code
 *       If-None-Match} so an unchanged JWKS costs a 304. Not {@link #ready()} until some usable key
 *       is held.
 *   <li><b>Unknown kid</b> (both modes): {@link #refetchForUnknownKid()} starts at most one fetch
 *       per {@link ValidationTuning#unknownKidRefetchInterval()}; every caller during a fetch, or
 *       while one waits for its turn, shares it.
 *   <li><b>Stale-if-error</b>: a failed fetch, or one yielding no usable key, never replaces held
 *       keys; in polling mode retries back off exponentially (with jitter) from {@link
 *       ValidationTuning#retryInitial()} to {@link ValidationTuning#retryMax()}; in snapshot mode
 *       the next unknown kid tries again (rate-limited as above).
 * </ul>
 *
 * Metrics: {@code
 * tokengate_jwks_refresh_total{issuer,result=ok|error|not_modified,trigger=interval|unknown_kid}}
 * ({@code interval}: the start and the timer of polling mode, and its retries) and the gauge {@code
 * tokengate_jwks_keys{issuer}}. Logs name the issuer, URLs, kids and reasons, never key material.
 * Thread-safe: readers see an immutable {@link KeySet}; fetch state changes on one Vert.x context.
 */
public final class JwksCache implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(JwksCache.class.getName());
  private static final Duration MIN_REFRESH = Duration.ofSeconds(1);

  private final Vertx vertx;
  private final Context context;
  private final String issuer;
  private final String discoveredIssuer;
  private final boolean discovery;
  private final String configuredJwksUri;
  private final boolean staticKeys;
  private final Duration refreshInterval;
  private final ValidationTuning tuning;
  private final IdpClient idp;
  private final MeterRegistry registry;
  private final boolean followsSnapshot;
  private final Map<Trigger, Counter> refreshOk = new java.util.EnumMap<>(Trigger.class);
  private final Map<Trigger, Counter> refreshError = new java.util.EnumMap<>(Trigger.class);
  private final Map<Trigger, Counter> refreshNotModified = new java.util.EnumMap<>(Trigger.class);
  private final GaugeSource gaugeSource;

  private volatile KeySet keys = KeySet.EMPTY;
  private volatile boolean closed;

  // Guarded by lock: coalescing and rate limiting of fetches.
  private final Object lock = new Object();
  private Future<KeySet> inFlight;
  private Promise<KeySet> deferred;
  private long lastFetchStartNanos;
  private boolean fetchedOnce;

  // Confined to context.
  private String jwksUri;
  private String etag;
  private int consecutiveFailures;
  private long timerId = -1;
  private long nextGeneration = 1;

  private JwksCache(
      Vertx vertx,
      TokenIssuerSpec spec,
      Optional<JWKSet> snapshot,
      MeterRegistry registry,
      ValidationTuning tuning) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.issuer = spec.issuer;
    this.discoveredIssuer = IssuerTemplate.routingKey(spec);
    this.discovery = spec.discovery;
    this.configuredJwksUri = spec.jwksUri;
    this.staticKeys = spec.jwks != null;
    this.tuning = tuning;
    this.registry = registry;
    this.refreshInterval = parseRefreshInterval(spec.refreshInterval);
    this.idp =
        staticKeys
            ? null
            : new IdpClient(
                vertx,
                spec.caBundle,
                spec.allowInsecureHttp,
                tuning.fetchTimeout().toMillis(),
                tuning.maxDocumentBytes());
    for (Trigger trigger : Trigger.values()) {
      refreshOk.put(trigger, refreshCounter("ok", trigger));
      refreshError.put(trigger, refreshCounter("error", trigger));
      refreshNotModified.put(trigger, refreshCounter("not_modified", trigger));
    }
    this.gaugeSource = GaugeSource.of(registry, issuer);
    Gauge.builder("tokengate.jwks.keys", gaugeSource, GaugeSource::value)
        .description("Usable signing keys held for the issuer")
        .tag("issuer", issuer)
        .strongReference(true)
        .register(registry);

    if (staticKeys) {
      KeySet set = KeySet.parse(spec.jwks.keys, issuer, nextGeneration++);
      if (set.isEmpty()) {
        throw new IllegalArgumentException(
            "spec.jwks of issuer " + issuer + " holds no usable signing key");
      }
      keys = set;
    } else if (snapshot.isPresent()) {
      List<Map<String, Object>> json = new ArrayList<>();
      for (JWK k : snapshot.get().getKeys()) {
        json.add(k.toJSONObject());
      }
      KeySet set = KeySet.parse(json, issuer, nextGeneration++);
      if (set.isEmpty()) {
        LOG.log(
            Level.WARNING,
            "key snapshot for issuer {0} holds no usable signing key; waiting for the IdP",
            issuer);
      } else {
        keys = set;
        LOG.log(
            Level.INFO,
            "issuer {0}: started from a snapshot of {1} keys {2}; the IdP is asked only for an"
                + " unknown kid",
            issuer,
            set.size(),
            kids(set));
      }
    }
    this.followsSnapshot = !staticKeys && !keys.isEmpty();
    gaugeSource.live.add(this);
  }

  /**
   * Starts the key cache of the issuer in {@code spec}: loads the static keys or the snapshot and,
   * unless the keys are static or the snapshot holds a usable key, starts fetching at once.
   *
   * @throws IllegalArgumentException if the spec cannot work (no key source, a non-HTTPS URL
   *     without {@code allowInsecureHttp}, an unparseable {@code caBundle} or {@code
   *     refreshInterval}, static keys of which none is usable); the message names the field
   */
  public static JwksCache start(
      Vertx vertx,
      TokenIssuerSpec spec,
      Optional<JWKSet> snapshot,
      MeterRegistry registry,
      ValidationTuning tuning) {
    checkSpec(spec);
    JwksCache cache = new JwksCache(vertx, spec, snapshot, registry, tuning);
    if (!cache.staticKeys && !cache.followsSnapshot) {
      cache.fetch(Trigger.INTERVAL);
    }
    return cache;
  }

  /** The issuer identifier these keys belong to. */
  public String issuer() {
    return issuer;
  }

  /** True while at least one usable key is held. */
  public boolean ready() {
    return !keys.isEmpty();
  }

  /**
   * True when the keys come from an operator-rendered snapshot and its updates (no polling of the
   * IdP; only unknown kids reach it), false when this cache polls the IdP on a timer or holds
   * static keys.
   */
  public boolean followsSnapshot() {
    return followsSnapshot;
  }

  /** Number of usable keys held. */
  public int keyCount() {
    return keys.size();
  }

  KeySet keys() {
    return keys;
  }

  /**
   * A fetch on behalf of a token whose {@code kid} is not held. Joins the fetch in flight or the
   * one waiting for its turn; else starts one, unless one started less than {@link
   * ValidationTuning#unknownKidRefetchInterval()} ago: then one fetch is deferred to the end of
   * that interval and every such caller waits for it. In snapshot mode every such fetch is further
   * deferred by a random delay of up to {@link ValidationTuning#unknownKidJitter()}. So a key
   * published just after a refresh is still picked up within the interval, while a flood of made-up
   * kids costs at most one fetch per interval. Always succeeds, with the keys held once the fetch
   * settled (unchanged if it failed). Static keys are never refetched.
   */
  Future<KeySet> refetchForUnknownKid() {
    if (staticKeys || closed) {
      return Future.succeededFuture(keys);
    }
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
      if (deferred != null) {
        return deferred.future();
      }
      long delayNanos = fetchDelayNanos();
      if (delayNanos > 0) {
        Promise<KeySet> later = Promise.promise();
        deferred = later;
        vertx.setTimer(
            Math.max(1, delayNanos / 1_000_000),
            id -> {
              synchronized (lock) {
                deferred = null;
              }
              fetch(Trigger.UNKNOWN_KID).onComplete(later);
            });
        return later.future();
      }
    }
    return fetch(Trigger.UNKNOWN_KID);
  }

  /** Guarded by lock: how long an unknown-kid fetch asked for now must wait for its turn. */
  private long fetchDelayNanos() {
    long wait =
        fetchedOnce
            ? lastFetchStartNanos + tuning.unknownKidRefetchInterval().toNanos() - System.nanoTime()
            : 0;
    long jitter =
        followsSnapshot
            ? ThreadLocalRandom.current().nextLong(tuning.unknownKidJitter().toNanos() + 1)
            : 0;
    return Math.max(0, wait) + jitter;
  }

  /**
   * The fetch in flight, if any, else the keys held now. Used while no keys are held: a request
   * then waits for a running fetch but never starts or defers one (the retry loop is already
   * trying), so a sidecar without keys answers at once instead of holding requests.
   */
  Future<KeySet> pendingFetch() {
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
    }
    return Future.succeededFuture(keys);
  }

  /** A fetch now, or the one already in flight. */
  private Future<KeySet> fetch(Trigger trigger) {
    Promise<KeySet> promise;
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
      promise = Promise.promise();
      inFlight = promise.future();
      lastFetchStartNanos = System.nanoTime();
      fetchedOnce = true;
    }
    context.runOnContext(
        v ->
            fetchOnContext(trigger)
                .onComplete(
                    ar -> {
                      synchronized (lock) {
                        inFlight = null;
                      }
                      scheduleNext(ar.succeeded());
                      promise.complete(keys);
                    }));
    return promise.future();
  }

  private Future<Void> fetchOnContext(Trigger trigger) {
    if (closed) {
      return Future.succeededFuture();
    }
    Future<String> uri;
    if (configuredJwksUri != null) {
      uri = Future.succeededFuture(configuredJwksUri);
    } else if (jwksUri != null) {
      uri = Future.succeededFuture(jwksUri);
    } else {
      uri = idp.discoverJwksUri(issuer, discoveredIssuer);
    }
    return uri.compose(
            u -> {
              jwksUri = u;
              return idp.fetchJwks(u, keys.isEmpty() ? null : etag)
                  .map(doc -> accept(u, doc, trigger));
            })
        .onFailure(e -> failed(e.getMessage(), trigger))
        .mapEmpty();
  }

  private Void accept(String url, IdpClient.JwksDocument doc, Trigger trigger) {
    if (doc.notModified()) {
      refreshNotModified.get(trigger).increment();
      consecutiveFailures = 0;
      LOG.log(Level.DEBUG, "issuer {0}: JWKS {1} not modified", issuer, url);
      return null;
    }
    KeySet fetched = KeySet.parse(doc.keys(), issuer, nextGeneration);
    if (fetched.isEmpty()) {
      // Never replace good keys with nothing: an IdP answering an empty set is an outage too.
      throw new IdpClient.IdpException("JWKS " + url + " holds no usable signing key");
    }
    KeySet held = keys;
    if (!held.sameKeysAs(fetched)) {
      nextGeneration++;
      keys = fetched;
      LOG.log(
          Level.INFO,
          "issuer {0}: loaded {1} keys {2} from {3}",
          issuer,
          fetched.size(),
          kids(fetched),
          url);
    }
    etag = doc.etag();
    consecutiveFailures = 0;
    refreshOk.get(trigger).increment();
    return null;
  }

  private void failed(String message, Trigger trigger) {
    if (closed) {
      return;
    }
    refreshError.get(trigger).increment();
    consecutiveFailures++;
    if (configuredJwksUri == null && discovery) {
      // The JWKS location may have moved: discover again on the next attempt.
      jwksUri = null;
    }
    LOG.log(
        Level.WARNING,
        "issuer {0}: key refresh failed ({1}); {2}",
        issuer,
        message,
        keys.isEmpty()
            ? "no keys held, tokens are refused until a fetch succeeds"
            : "keeping " + keys.size() + " cached keys");
  }

  private void scheduleNext(boolean succeeded) {
    if (closed || followsSnapshot) {
      // Snapshot mode: the operator polls the IdP and renders newer snapshots; no timer here.
      return;
    }
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    long delay;
    if (succeeded && consecutiveFailures == 0) {
      double jitter = tuning.refreshJitter() * (2 * ThreadLocalRandom.current().nextDouble() - 1);
      delay = (long) (refreshInterval.toMillis() * (1 + jitter));
    } else {
      long cap = Math.min(tuning.retryMax().toMillis(), refreshInterval.toMillis());
      int exponent = Math.min(30, Math.max(0, consecutiveFailures - 1));
      long backoff = Math.min(cap, tuning.retryInitial().toMillis() << exponent);
      // Equal jitter: between half and all of the backoff, so retries of many sidecars spread out.
      delay = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
    }
    timerId = vertx.setTimer(Math.max(1, delay), id -> fetch(Trigger.INTERVAL));
  }

  @Override
  public void close() {
    closed = true;
    context.runOnContext(
        v -> {
          if (timerId >= 0) {
            vertx.cancelTimer(timerId);
          }
        });
    if (idp != null) {
      idp.close();
    }
    gaugeSource.live.remove(this);
  }

  /**
   * What the {@code tokengate_jwks_keys} gauge of one issuer in one registry reads: the newest open
   * cache of that issuer. A configuration reload starts a new cache before it closes the old one
   * (or, when the new configuration is refused, closes the new one), and the gauge follows
   * whichever is serving; with none open it reads 0.
   */
  private static final class GaugeSource {
    private static final Map<MeterRegistry, Map<String, GaugeSource>> SOURCES =
        new java.util.WeakHashMap<>();

    final java.util.Deque<JwksCache> live = new java.util.concurrent.ConcurrentLinkedDeque<>();

    static synchronized GaugeSource of(MeterRegistry registry, String issuer) {
      return SOURCES
          .computeIfAbsent(registry, r -> new java.util.HashMap<>())
          .computeIfAbsent(issuer, i -> new GaugeSource());
    }

    double value() {
      JwksCache newest = live.peekLast();
      return newest == null ? 0 : newest.keys.size();
    }
  }

  /** Why a JWKS fetch happened: the {@code trigger} label of {@code tokengate_jwks_refresh}. */
  private enum Trigger {
    /** The start, the timer and the retries of polling mode. */
    INTERVAL("interval"),
    /** A token named a kid the cache did not hold. */
    UNKNOWN_KID("unknown_kid");

    final String label;

    Trigger(String label) {
      this.label = label;
    }
  }

  private Counter refreshCounter(String result, Trigger trigger) {
    return Counter.builder("tokengate.jwks.refresh")
        .description("JWKS fetches by result and by what triggered them")
        .tag("issuer", issuer)
        .tag("result", result)
        .tag("trigger", trigger.label)
        .register(registry);
  }

  private static List<String> kids(KeySet set) {
    return set.keys().stream().map(k -> String.valueOf(k.kid())).toList();
  }

  private static Duration parseRefreshInterval(String text) {
    Duration d;
    try {
      d = Durations.parse(text == null ? "10m" : text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("spec.refreshInterval: " + e.getMessage());
    }
    if (d.compareTo(MIN_REFRESH) < 0) {
      throw new IllegalArgumentException("spec.refreshInterval must be at least 1s, got " + text);
    }
    return d;
  }

  private static void checkSpec(TokenIssuerSpec spec) {
    if (spec == null || spec.issuer == null || spec.issuer.isBlank()) {
      throw new IllegalArgumentException("spec.issuer is required");
    }
    checkUrl(spec.issuer, "spec.issuer", spec.allowInsecureHttp);
    if (spec.jwksUri != null) {
      checkUrl(spec.jwksUri, "spec.jwksUri", spec.allowInsecureHttp);
    }
    if (spec.jwks == null && spec.jwksUri == null && !spec.discovery) {
      throw new IllegalArgumentException(
          "spec: no key source; enable spec.discovery, or set spec.jwksUri or spec.jwks");
    }
    if (spec.jwks != null && (spec.jwks.keys == null || spec.jwks.keys.isEmpty())) {
      throw new IllegalArgumentException("spec.jwks.keys must list at least one key");
    }
    if (spec.caBundle != null) {
      try {
        if (CertificateFactory.getInstance("X.509")
            .generateCertificates(
                new ByteArrayInputStream(spec.caBundle.getBytes(StandardCharsets.US_ASCII)))
            .isEmpty()) {
          throw new IllegalArgumentException("spec.caBundle holds no PEM certificate");
        }
      } catch (CertificateException e) {
        throw new IllegalArgumentException(
            "spec.caBundle is not a PEM certificate bundle: " + e.getMessage());
      }
    }
    parseRefreshInterval(spec.refreshInterval);
  }

  private static void checkUrl(String url, String field, boolean allowInsecureHttp) {
    java.net.URI uri;
    try {
      uri = java.net.URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + " is not a valid URL: " + url);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
    if (uri.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))) {
      throw new IllegalArgumentException(field + " must be an absolute https:// URL, got " + url);
    }
    if (scheme.equals("http") && !allowInsecureHttp) {
      throw new IllegalArgumentException(
          field
              + " must be an https:// URL; set spec.allowInsecureHttp: true only for development"
              + " issuers on plain HTTP (got "
              + url
              + ")");
    }
  }
}
