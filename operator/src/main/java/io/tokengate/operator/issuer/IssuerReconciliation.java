package io.tokengate.operator.issuer;

import io.fabric8.kubernetes.client.CustomResource;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.Durations;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerStatus;
import io.tokengate.operator.status.StatusConditions;
import io.tokengate.operator.status.StatusWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one controller logic behind {@link TokenIssuerReconciler} and {@link
 * ClusterTokenIssuerReconciler}: load the keys, publish what was found in status, requeue at {@code
 * refreshInterval}. A failing issuer is a {@code Ready=False} condition with a reason and a requeue
 * with exponential backoff; reconciliation never throws for it.
 */
public abstract class IssuerReconciliation<
        R extends CustomResource<TokenIssuerSpec, TokenIssuerStatus> & IssuerResource>
    implements Reconciler<R> {
  private static final Set<String> KEY_REASONS =
      Set.of(Reasons.JWKS_FETCH_FAILED, Reasons.JWKS_INVALID, Reasons.NO_USABLE_KEYS);
  static final Duration FIRST_RETRY = Duration.ofSeconds(5);

  private final IssuerKeyLoader loader;
  private final IssuerSnapshots snapshots;
  private final StatusWriter status;
  private final Duration maxRetryInterval;
  private final Clock clock;
  private final Map<IssuerKey, Integer> failuresInARow = new ConcurrentHashMap<>();

  protected IssuerReconciliation(IssuerServices services) {
    this.loader = new IssuerKeyLoader(services.client(), services.idp());
    this.snapshots = services.snapshots();
    this.status = new StatusWriter(services.events());
    this.maxRetryInterval = services.maxRetryInterval();
    this.clock = services.clock();
  }

  /** Where {@code spec.caSecretRef} of this issuer is read from. */
  protected abstract String secretNamespace(R issuer);

  @Override
  public UpdateControl<R> reconcile(R issuer, Context<R> context) {
    TokenIssuerSpec spec = issuer.getSpec();
    TokenIssuerStatus previous =
        issuer.getStatus() == null ? new TokenIssuerStatus() : issuer.getStatus();
    TokenIssuerStatus next = carryOver(previous);
    next.observedGeneration = issuer.getMetadata().getGeneration();
    var conditions =
        new StatusConditions(previous.conditions, issuer.getMetadata().getGeneration(), clock);
    IssuerKey key = IssuerKey.of(issuer);
    Duration requeue;
    try {
      Duration refresh = Durations.parse(spec.refreshInterval);
      IssuerKeyLoader.Loaded loaded = loader.load(spec, secretNamespace(issuer));
      snapshots.put(
          key,
          new IssuerSnapshots.Snapshot(
              loaded.keys(),
              loaded.caBundle(),
              loaded.jwksUri(),
              generation(issuer),
              loaded.introspectionEndpoint()));
      publish(next, previous, loaded);
      conditions.set(
          Conditions.DISCOVERY_SUCCEEDED,
          true,
          loaded.discovered() ? Reasons.DISCOVERED : Reasons.DISCOVERY_DISABLED,
          loaded.discovered()
              ? "discovery names issuer "
                  + IssuerTemplate.routingKey(spec)
                  + tenants(spec)
                  + " and JWKS "
                  + loaded.jwksUri()
              : "discovery is off (spec.discovery: false or static spec.jwks)");
      conditions.set(
          Conditions.KEYS_LOADED,
          true,
          loaded.jwksUri() == null ? Reasons.STATIC_KEYS : Reasons.KEYS_FETCHED,
          loaded.keys().size()
              + " public signing key(s) "
              + (loaded.jwksUri() == null ? "from spec.jwks" : "from " + loaded.jwksUri()));
      conditions.set(Conditions.READY, true, Reasons.READY, "keys loaded; policies may use it");
      failuresInARow.remove(key);
      requeue = refresh;
    } catch (IssuerFailure failure) {
      fail(conditions, spec, failure, previous);
      requeue = backoff(failuresInARow.merge(key, 1, Integer::sum));
    } catch (IllegalArgumentException invalid) {
      fail(
          conditions,
          spec,
          new IssuerFailure(Reasons.INVALID_SPEC, invalid.getMessage()),
          previous);
      requeue = maxRetryInterval;
    }
    next.conditions = conditions.build();
    status.write(issuer, next, conditions.changed(), context);
    return UpdateControl.<R>noUpdate().rescheduleAfter(requeue);
  }

  private void publish(
      TokenIssuerStatus next, TokenIssuerStatus previous, IssuerKeyLoader.Loaded loaded) {
    next.jwksUri = loaded.jwksUri();
    next.introspectionEndpoint = loaded.introspectionEndpoint();
    next.keys = loaded.keys().infos();
    next.keyCount = loaded.keys().size();
    next.jwksHash = loaded.keys().hash();
    // Static keys are "refreshed" when they change; fetched keys at every successful fetch.
    boolean sameStaticKeys =
        loaded.jwksUri() == null && loaded.keys().hash().equals(previous.jwksHash);
    next.lastRefreshTime =
        sameStaticKeys && previous.lastRefreshTime != null
            ? previous.lastRefreshTime
            : Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private void fail(
      StatusConditions conditions,
      TokenIssuerSpec spec,
      IssuerFailure failure,
      TokenIssuerStatus previous) {
    String reason = failure.reason();
    String message = failure.getMessage();
    if (KEY_REASONS.contains(reason)) {
      conditions.set(
          Conditions.DISCOVERY_SUCCEEDED,
          true,
          spec.discovery ? Reasons.DISCOVERED : Reasons.DISCOVERY_DISABLED,
          spec.discovery ? "discovery answered for issuer " + spec.issuer : "discovery is off");
    } else {
      conditions.set(Conditions.DISCOVERY_SUCCEEDED, false, reason, message);
    }
    conditions.set(Conditions.KEYS_LOADED, false, reason, message);
    String stale =
        previous.jwksHash == null
            ? ""
            : " (policies keep the keys fetched at " + previous.lastRefreshTime + ")";
    conditions.set(Conditions.READY, false, reason, message + stale);
  }

  /** For a multi-tenant issuer, which tenants its tokens may come from. */
  private static String tenants(TokenIssuerSpec spec) {
    if (spec.tenants == null) {
      return "";
    }
    return spec.tenants.contains(IssuerTemplate.ALL_TENANTS)
        ? " (tokens of every tenant accepted)"
        : " (tokens of " + spec.tenants.size() + " listed tenant(s) accepted)";
  }

  private Duration backoff(int failures) {
    long factor = 1L << Math.min(failures - 1, 16);
    Duration d = FIRST_RETRY.multipliedBy(factor);
    return d.compareTo(maxRetryInterval) > 0 ? maxRetryInterval : d;
  }

  private static long generation(IssuerResource issuer) {
    Long g = issuer.getMetadata().getGeneration();
    return g == null ? 0 : g;
  }

  private static TokenIssuerStatus carryOver(TokenIssuerStatus previous) {
    TokenIssuerStatus next = new TokenIssuerStatus();
    next.jwksUri = previous.jwksUri;
    next.introspectionEndpoint = previous.introspectionEndpoint;
    next.keys = previous.keys;
    next.keyCount = previous.keyCount;
    next.jwksHash = previous.jwksHash;
    next.lastRefreshTime = previous.lastRefreshTime;
    return next;
  }
}
