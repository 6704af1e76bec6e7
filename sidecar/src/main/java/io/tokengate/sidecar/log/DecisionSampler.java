package io.tokengate.sidecar.log;

import io.tokengate.api.v1alpha1.apipolicy.DecisionLog;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether an allowed request's decision is written to the log: never, always, or at most {@code
 * perSecond} a second (a generic cell rate limiter: lock-free, no timer, at most one second's worth
 * in a burst). Refusals never ask: they are always logged.
 */
public final class DecisionSampler {
  private final DecisionLog.Allowed mode;
  private final long intervalNanos;
  private final long burstNanos;
  private final AtomicLong theoreticalArrival = new AtomicLong(Long.MIN_VALUE);

  private DecisionSampler(DecisionLog.Allowed mode, int perSecond) {
    this.mode = mode;
    this.intervalNanos = TimeUnit.SECONDS.toNanos(1) / perSecond;
    this.burstNanos = TimeUnit.SECONDS.toNanos(1);
  }

  /**
   * The sampler of a policy's {@code spec.decisionLog}; what it leaves unset comes from {@code
   * installationDefault} (the sidecar's launch option) and {@link
   * DecisionLog#DEFAULT_SAMPLED_PER_SECOND}.
   */
  public static DecisionSampler of(DecisionLog spec, DecisionLog.Allowed installationDefault) {
    DecisionLog.Allowed mode =
        spec != null && spec.allowed != null ? spec.allowed : installationDefault;
    int perSecond =
        spec != null && spec.sampledPerSecond != null
            ? spec.sampledPerSecond
            : DecisionLog.DEFAULT_SAMPLED_PER_SECOND;
    return new DecisionSampler(mode, Math.max(1, perSecond));
  }

  public DecisionLog.Allowed mode() {
    return mode;
  }

  /** Whether this allowed request's decision is logged. */
  public boolean logAllowed() {
    return switch (mode) {
      case All -> true;
      case None -> false;
      case Sampled -> tryAcquire(System.nanoTime());
    };
  }

  boolean tryAcquire(long now) {
    while (true) {
      long tat = theoreticalArrival.get();
      long start = tat == Long.MIN_VALUE || tat < now ? now : tat;
      long next = start + intervalNanos;
      if (next - now > burstNanos) {
        return false;
      }
      if (theoreticalArrival.compareAndSet(tat, next)) {
        return true;
      }
    }
  }
}
