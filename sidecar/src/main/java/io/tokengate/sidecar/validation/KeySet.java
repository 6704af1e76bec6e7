package io.tokengate.sidecar.validation;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import java.lang.System.Logger.Level;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * An immutable set of an issuer's usable signing keys, as one JWKS fetch (or snapshot, or static
 * spec) produced it. {@code generation} changes exactly when the keys change, which is what
 * invalidates verified-token cache entries.
 */
final class KeySet {
  static final KeySet EMPTY = new KeySet(List.of(), 0, "");

  /** A token without {@code kid} is tried against at most this many keys. */
  static final int MAX_KEYS_TRIED_WITHOUT_KID = 8;

  private static final System.Logger LOG = System.getLogger(KeySet.class.getName());

  private final List<IssuerKey> keys;
  private final long generation;
  private final String fingerprint;

  private KeySet(List<IssuerKey> keys, long generation, String fingerprint) {
    this.keys = keys;
    this.generation = generation;
    this.fingerprint = fingerprint;
  }

  /**
   * The usable keys among {@code jwks} (each a JWK JSON object). Unusable or unparseable keys are
   * skipped and logged by kid and reason only; certificate members ({@code x5c}, {@code x5u},
   * {@code x5t}) are dropped before parsing because tokengate never trusts them.
   */
  static KeySet parse(Collection<Map<String, Object>> jwks, String issuer, long generation) {
    List<IssuerKey> usable = new ArrayList<>();
    for (Map<String, Object> json : jwks) {
      Map<String, Object> copy = new java.util.LinkedHashMap<>(json);
      copy.remove("x5c");
      copy.remove("x5u");
      copy.remove("x5t");
      copy.remove("x5t#S256");
      Object kid = copy.get("kid");
      try {
        usable.add(IssuerKey.from(JWK.parse(copy)));
      } catch (ParseException e) {
        LOG.log(
            Level.WARNING,
            "skipping key kid={0} of issuer {1}: not a valid JWK ({2})",
            kid,
            issuer,
            e.getMessage());
      } catch (IssuerKey.UnusableKeyException e) {
        LOG.log(Level.INFO, "skipping key kid={0} of issuer {1}: {2}", kid, issuer, e.getMessage());
      }
    }
    return of(usable, generation);
  }

  static KeySet of(List<IssuerKey> keys, long generation) {
    Set<String> parts = new TreeSet<>();
    for (IssuerKey k : keys) {
      parts.add(k.kid() + "|" + k.thumbprint() + "|" + new TreeSet<>(names(k.algorithms())));
    }
    return new KeySet(List.copyOf(keys), generation, String.join(",", parts));
  }

  private static List<String> names(Set<JWSAlgorithm> algs) {
    return algs.stream().map(JWSAlgorithm::getName).toList();
  }

  /** The same keys under {@code newGeneration}. */
  KeySet withGeneration(long newGeneration) {
    return new KeySet(keys, newGeneration, fingerprint);
  }

  boolean sameKeysAs(KeySet other) {
    return fingerprint.equals(other.fingerprint);
  }

  boolean isEmpty() {
    return keys.isEmpty();
  }

  int size() {
    return keys.size();
  }

  long generation() {
    return generation;
  }

  List<IssuerKey> keys() {
    return keys;
  }

  /** True if any key carries {@code kid}, whatever its type. */
  boolean hasKid(String kid) {
    for (IssuerKey k : keys) {
      if (kid.equals(k.kid())) {
        return true;
      }
    }
    return false;
  }

  /**
   * The keys that may verify a token with {@code alg} and {@code kid}: with a kid, the keys of that
   * kid able to verify alg; without one, the first {@link #MAX_KEYS_TRIED_WITHOUT_KID} keys able
   * to.
   */
  List<IssuerKey> candidates(String kid, JWSAlgorithm alg) {
    List<IssuerKey> out = new ArrayList<>(2);
    for (IssuerKey k : keys) {
      if (!k.verifies(alg)) {
        continue;
      }
      if (kid == null ? out.size() < MAX_KEYS_TRIED_WITHOUT_KID : kid.equals(k.kid())) {
        out.add(k);
      }
    }
    return out;
  }
}
