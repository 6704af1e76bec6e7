package io.tokengate.operator.issuer;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last good keys of every issuer, as the issuer reconciler fetched them; the ApiPolicy
 * reconciler renders them into the sidecar configuration. Held in memory by the leader: a new
 * leader refetches every issuer at start, and policies wait for that rather than render without
 * keys.
 */
public final class IssuerSnapshots {
  /**
   * What a policy needs of an issuer besides its spec.
   *
   * @param introspectionEndpoint the resolved endpoint of {@code spec.introspection}, or null
   */
  public record Snapshot(
      KeySet keys,
      String caBundle,
      String jwksUri,
      long issuerGeneration,
      String introspectionEndpoint) {
    public Snapshot(KeySet keys, String caBundle, String jwksUri, long issuerGeneration) {
      this(keys, caBundle, jwksUri, issuerGeneration, null);
    }
  }

  private final Map<IssuerKey, Snapshot> snapshots = new ConcurrentHashMap<>();

  public void put(IssuerKey key, Snapshot snapshot) {
    snapshots.put(key, snapshot);
  }

  public Optional<Snapshot> get(IssuerKey key) {
    return Optional.ofNullable(snapshots.get(key));
  }

  public void remove(IssuerKey key) {
    snapshots.remove(key);
  }
}
