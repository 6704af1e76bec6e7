package io.tokengate.sidecar.validation;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * The DPoP proofs ({@code jti} per key) seen within the proof window, so a proof is accepted once
 * (RFC 9449 section 11.1). Its memory is fixed when it is made: two {@code long} arrays, 16 bytes a
 * slot, whatever the load. An entry is a 64-bit keyed hash of the key thumbprint and the {@code
 * jti} (a per-process random salt, so clients can neither pick colliding values nor aim at one
 * slot) and the time it may be forgotten, when its proof is outside the window anyway.
 *
 * <p>A proof's entry lives in one of {@value #PROBES} consecutive slots, all of which are read on
 * every look-up, so a proof seen within the window is always found. When all of them hold live
 * entries the cache cannot remember one more proof and answers {@link Outcome#FULL}: the request is
 * refused (503) rather than accepted unremembered. Slots expire with the window, so the capacity is
 * a rate: about {@code slots / 2} proofs per window length.
 */
public final class DpopReplayCache {
  /** What recording a proof found. */
  public enum Outcome {
    /** Not seen within the window: remembered now. */
    FRESH,
    /** Seen before: a replay. */
    REPLAYED,
    /** No room to remember it: refuse the request. */
    FULL
  }

  /** Slots of the default cache: 2 MiB, room for about 60,000 live proofs. */
  public static final int DEFAULT_SLOTS = 1 << 17;

  static final int PROBES = 16;

  private final long[] hashes;
  private final long[] forgetAt;
  private final int mask;
  private final byte[] salt = new byte[32];

  /**
   * @param slots a power of two, at least {@value #PROBES}
   */
  public DpopReplayCache(int slots) {
    if (slots < PROBES || Integer.bitCount(slots) != 1) {
      throw new IllegalArgumentException(
          "the replay cache needs a power of two of at least " + PROBES + " slots, got " + slots);
    }
    this.hashes = new long[slots];
    this.forgetAt = new long[slots];
    this.mask = slots - 1;
    new SecureRandom().nextBytes(salt);
  }

  /**
   * Records the proof {@code jti} of the key {@code jkt}, to be remembered until {@code
   * forgetAtMillis}.
   */
  public Outcome record(String jkt, String jti, long forgetAtMillis, long nowMillis) {
    MessageDigest sha = Sha256.digest();
    sha.update(salt);
    sha.update(jkt.getBytes(StandardCharsets.UTF_8));
    sha.update((byte) 0);
    sha.update(jti.getBytes(StandardCharsets.UTF_8));
    ByteBuffer digest = ByteBuffer.wrap(sha.digest());
    long hash = digest.getLong(0);
    if (hash == 0) {
      hash = 1; // 0 marks a slot never used
    }
    int start = digest.getInt(8) & mask;
    synchronized (this) {
      int free = -1;
      for (int i = 0; i < PROBES; i++) {
        int slot = (start + i) & mask;
        boolean live = hashes[slot] != 0 && forgetAt[slot] > nowMillis;
        if (live && hashes[slot] == hash) {
          return Outcome.REPLAYED;
        }
        if (!live && free < 0) {
          free = slot;
        }
      }
      if (free < 0) {
        return Outcome.FULL;
      }
      hashes[free] = hash;
      forgetAt[free] = forgetAtMillis;
      return Outcome.FRESH;
    }
  }
}
