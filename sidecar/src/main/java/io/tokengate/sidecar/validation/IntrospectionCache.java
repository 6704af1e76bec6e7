package io.tokengate.sidecar.validation;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Introspection answers, keyed by the SHA-256 of the token (the token itself is never kept): an
 * active token's checked claims, or the refusal of an inactive one. Each entry carries the instant
 * it must no longer be used, which the caller bounds by the token's {@code exp} and the configured
 * ceiling. Bounded: beyond the limit, expired entries go first, then arbitrary ones.
 */
final class IntrospectionCache {
  /** A cached answer: {@code token} for an active token, else {@code refusal}. */
  record Answer(VerifiedToken token, GateFailure refusal) {}

  private record Entry(Answer answer, long usableUntilMillis) {}

  private final int maxEntries;
  private final Map<ByteBuffer, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicBoolean evicting = new AtomicBoolean();

  IntrospectionCache(int maxEntries) {
    this.maxEntries = maxEntries;
  }

  /** The answer for {@code key}, if it is still usable at {@code nowMillis}. */
  Answer get(ByteBuffer key, long nowMillis) {
    Entry e = entries.get(key);
    if (e == null) {
      return null;
    }
    if (nowMillis >= e.usableUntilMillis()) {
      entries.remove(key, e);
      return null;
    }
    return e.answer();
  }

  /** Remembers {@code answer} until {@code usableUntilMillis} (nothing when that is not later). */
  void put(ByteBuffer key, Answer answer, long nowMillis, long usableUntilMillis) {
    if (maxEntries <= 0 || usableUntilMillis <= nowMillis) {
      return;
    }
    if (entries.size() >= maxEntries) {
      evict(nowMillis);
    }
    if (entries.size() < maxEntries) {
      entries.put(key, new Entry(answer, usableUntilMillis));
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
      entries.values().removeIf(e -> nowMillis >= e.usableUntilMillis());
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
