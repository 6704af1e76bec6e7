package io.tokengate.sidecar.validation;

import java.time.Clock;
import java.time.Duration;

/**
 * Operational knobs of key fetching and token caching that are not part of the TokenIssuer API.
 * {@link #DEFAULTS} suits production; tests shorten the intervals.
 *
 * @param unknownKidRefetchInterval at most one JWKS refetch per this interval is triggered by
 *     tokens naming an unknown {@code kid} (per issuer); tokens arriving while one is in flight
 *     wait for it
 * @param unknownKidJitter a sidecar holding an operator-rendered key snapshot waits a random delay
 *     in {@code [0, unknownKidJitter]} before each unknown-kid fetch, so the pods that all meet a
 *     rotated key at once reach the IdP spread over this window instead of in one instant (zero
 *     disables the delay); sidecars that poll the IdP themselves fetch at once
 * @param fetchTimeout a discovery or JWKS request that has not completed by then fails
 * @param retryInitial the first retry delay after a failed fetch; doubled per consecutive failure
 * @param retryMax the longest retry delay (also capped by the refresh interval)
 * @param refreshJitter the scheduled refresh is spread by ± this fraction of the interval, so
 *     sidecars started together do not fetch together
 * @param maxDocumentBytes a discovery document or JWKS larger than this is refused
 * @param tokenCacheEntries verified tokens remembered (0 disables the cache)
 * @param tokenCacheTtl how long a verified token is remembered at most (also bounded by its exp)
 * @param clock the time source for lifetime checks
 */
public record ValidationTuning(
    Duration unknownKidRefetchInterval,
    Duration unknownKidJitter,
    Duration fetchTimeout,
    Duration retryInitial,
    Duration retryMax,
    double refreshJitter,
    int maxDocumentBytes,
    int tokenCacheEntries,
    Duration tokenCacheTtl,
    Clock clock) {

  public static final ValidationTuning DEFAULTS =
      new ValidationTuning(
          Duration.ofSeconds(5),
          Duration.ofSeconds(2),
          Duration.ofSeconds(5),
          Duration.ofSeconds(1),
          Duration.ofMinutes(2),
          0.1,
          1 << 20,
          10_000,
          Duration.ofMinutes(5),
          Clock.systemUTC());

  public ValidationTuning {
    requirePositive(unknownKidRefetchInterval, "unknownKidRefetchInterval");
    if (unknownKidJitter == null || unknownKidJitter.isNegative()) {
      throw new IllegalArgumentException(
          "unknownKidJitter must be zero or positive, got " + unknownKidJitter);
    }
    requirePositive(fetchTimeout, "fetchTimeout");
    requirePositive(retryInitial, "retryInitial");
    requirePositive(retryMax, "retryMax");
    requirePositive(tokenCacheTtl, "tokenCacheTtl");
    if (refreshJitter < 0 || refreshJitter >= 1) {
      throw new IllegalArgumentException("refreshJitter must be in [0, 1), got " + refreshJitter);
    }
    if (maxDocumentBytes <= 0 || tokenCacheEntries < 0) {
      throw new IllegalArgumentException("maxDocumentBytes must be > 0 and tokenCacheEntries >= 0");
    }
    if (clock == null) {
      throw new IllegalArgumentException("clock is required");
    }
  }

  public ValidationTuning withUnknownKidRefetchInterval(Duration d) {
    return new ValidationTuning(
        d,
        unknownKidJitter,
        fetchTimeout,
        retryInitial,
        retryMax,
        refreshJitter,
        maxDocumentBytes,
        tokenCacheEntries,
        tokenCacheTtl,
        clock);
  }

  public ValidationTuning withUnknownKidJitter(Duration d) {
    return new ValidationTuning(
        unknownKidRefetchInterval,
        d,
        fetchTimeout,
        retryInitial,
        retryMax,
        refreshJitter,
        maxDocumentBytes,
        tokenCacheEntries,
        tokenCacheTtl,
        clock);
  }

  public ValidationTuning withFetchTimeout(Duration d) {
    return new ValidationTuning(
        unknownKidRefetchInterval,
        unknownKidJitter,
        d,
        retryInitial,
        retryMax,
        refreshJitter,
        maxDocumentBytes,
        tokenCacheEntries,
        tokenCacheTtl,
        clock);
  }

  public ValidationTuning withRetry(Duration initial, Duration max) {
    return new ValidationTuning(
        unknownKidRefetchInterval,
        unknownKidJitter,
        fetchTimeout,
        initial,
        max,
        refreshJitter,
        maxDocumentBytes,
        tokenCacheEntries,
        tokenCacheTtl,
        clock);
  }

  public ValidationTuning withTokenCache(int entries, Duration ttl) {
    return new ValidationTuning(
        unknownKidRefetchInterval,
        unknownKidJitter,
        fetchTimeout,
        retryInitial,
        retryMax,
        refreshJitter,
        maxDocumentBytes,
        entries,
        ttl,
        clock);
  }

  public ValidationTuning withClock(Clock c) {
    return new ValidationTuning(
        unknownKidRefetchInterval,
        unknownKidJitter,
        fetchTimeout,
        retryInitial,
        retryMax,
        refreshJitter,
        maxDocumentBytes,
        tokenCacheEntries,
        tokenCacheTtl,
        c);
  }

  private static void requirePositive(Duration d, String name) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be a positive duration, got " + d);
    }
  }
}
