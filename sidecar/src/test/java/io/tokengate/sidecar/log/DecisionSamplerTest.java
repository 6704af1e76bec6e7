package io.tokengate.sidecar.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.v1alpha1.apipolicy.DecisionLog;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class DecisionSamplerTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private static DecisionLog spec(DecisionLog.Allowed allowed, Integer perSecond) {
    DecisionLog d = new DecisionLog();
    d.allowed = allowed;
    d.sampledPerSecond = perSecond;
    return d;
  }

  @Test
  void samplingLetsThroughAtMostTheRateAndRefillsWithTime() {
    DecisionSampler s = DecisionSampler.of(spec(DecisionLog.Allowed.Sampled, 5), null);
    long t0 = 1_000 * SECOND;
    long first = IntStream.range(0, 1000).filter(i -> s.tryAcquire(t0)).count();
    assertThat(first).isEqualTo(5);
    // A fifth of a second later one more line is due; seconds later, a whole second's worth.
    assertThat(s.tryAcquire(t0 + SECOND / 5)).isTrue();
    assertThat(s.tryAcquire(t0 + SECOND / 5)).isFalse();
    long later = IntStream.range(0, 1000).filter(i -> s.tryAcquire(t0 + 3 * SECOND)).count();
    assertThat(later).isEqualTo(5);
  }

  @Test
  void thePolicyWinsOverTheInstallationDefaultAndUnsetFallsBackToIt() {
    assertThat(
            DecisionSampler.of(spec(DecisionLog.Allowed.None, null), DecisionLog.Allowed.All)
                .logAllowed())
        .isFalse();
    assertThat(DecisionSampler.of(null, DecisionLog.Allowed.All).logAllowed()).isTrue();
    assertThat(DecisionSampler.of(spec(null, 3), DecisionLog.Allowed.None).logAllowed()).isFalse();
    DecisionSampler sampled = DecisionSampler.of(null, DecisionLog.Allowed.Sampled);
    assertThat(sampled.mode()).isEqualTo(DecisionLog.Allowed.Sampled);
    long t = 5 * SECOND;
    assertThat(sampled.tryAcquire(t)).isTrue();
    assertThat(sampled.tryAcquire(t)).as("default: one a second").isFalse();
  }
}
