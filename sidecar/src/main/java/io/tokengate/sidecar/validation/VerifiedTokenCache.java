package io.tokengate.sidecar.validation;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Tokens that passed every check, remembered so a client repeating its token skips the signature
 * verification. Keyed by the SHA-256 of the token (the token itself is not kept as a key); an entry
 * is used only while it is within the token's {@code exp} (plus skew) and the cache TTL, and only
 * under the key set generation it was verified with, so a key removed from the JWKS stops its
 * tokens at once. Bounded: beyond the limit, expired entries go first, then arbitrary ones.
 */
final class VerifiedTokenCache {
  private record Entry(VerifiedToken token, long generation, long usableUntilMillis) {}

  private final int maxEntries;
  private final long ttlMillis;
  private final Map<ByteBuffer, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicBoolean evicting = new AtomicBoolean();

  VerifiedTokenCache(int maxEntries, long ttlMillis) {
    this.maxEntries = maxEntries;
    this.ttlMillis = ttlMillis;
  }

  boolean enabled() {
    return maxEntries > 0;
  }

  static ByteBuffer keyOf(String token) {
    return ByteBuffer.wrap(Sha256.digest().digest(token.getBytes(StandardCharsets.US_ASCII)));
  }

  /** The cached token, if still usable at {@code nowMillis} under {@code generation}. */
  VerifiedToken get(ByteBuffer key, long generation, long nowMillis) {
    Entry e = entries.get(key);
    if (e == null) {
      return null;
    }
    if (e.generation() != generation || nowMillis > e.usableUntilMillis()) {
      entries.remove(key, e);
      return null;
    }
    return e.token();
  }

  /** Remembers {@code token} until {@code min(lastValidMillis, now + ttl)}. */
  void put(
      ByteBuffer key, VerifiedToken token, long generation, long nowMillis, long lastValidMillis) {
    if (entries.size() >= maxEntries) {
      evict(nowMillis);
    }
    if (entries.size() < maxEntries) {
      entries.put(
          key, new Entry(token, generation, Math.min(lastValidMillis, nowMillis + ttlMillis)));
    }
  }

  int size() {
    return entries.size();
  }

  private void evict(long nowMillis) {
    if (!evicting.compareAndSet(false, true)) {
      return;
    }
    try {
      entries.values().removeIf(e -> nowMillis > e.usableUntilMillis());
      int target = maxEntries - Math.max(1, maxEntries / 10);
      Iterator<ByteBuffer> it = entries.keySet().iterator();
      while (entries.size() > target && it.hasNext()) {
        it.next();
        it.remove();
      }
    } finally {
      evicting.set(false);
    }
  }
}
