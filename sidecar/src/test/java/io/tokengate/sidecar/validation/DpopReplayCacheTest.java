package io.tokengate.sidecar.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokengate.sidecar.validation.DpopReplayCache.Outcome;
import org.junit.jupiter.api.Test;

class DpopReplayCacheTest {
  @Test
  void aProofIsFreshOnceAndAReplayUntilItIsForgotten() {
    DpopReplayCache cache = new DpopReplayCache(1024);
    assertThat(cache.record("key-a", "jti-1", 2_000, 1_000)).isEqualTo(Outcome.FRESH);
    assertThat(cache.record("key-a", "jti-1", 2_000, 1_500)).isEqualTo(Outcome.REPLAYED);
    // The same jti of another key is another proof.
    assertThat(cache.record("key-b", "jti-1", 2_000, 1_500)).isEqualTo(Outcome.FRESH);
    // Past its window the proof would be refused as stale anyway: the slot is reused.
    assertThat(cache.record("key-a", "jti-1", 3_000, 2_001)).isEqualTo(Outcome.FRESH);
  }

  @Test
  void whenEveryPlaceIsTakenByALiveProofTheCacheSaysFullInsteadOfForgetting() {
    DpopReplayCache cache = new DpopReplayCache(DpopReplayCache.PROBES);
    for (int i = 0; i < DpopReplayCache.PROBES; i++) {
      assertThat(cache.record("key", "jti-" + i, 10_000, 0)).isEqualTo(Outcome.FRESH);
    }
    assertThat(cache.record("key", "one-more", 10_000, 0)).isEqualTo(Outcome.FULL);
    // Every proof it holds is still recognised.
    for (int i = 0; i < DpopReplayCache.PROBES; i++) {
      assertThat(cache.record("key", "jti-" + i, 10_000, 5_000)).isEqualTo(Outcome.REPLAYED);
    }
    // Once they expire there is room again.
    assertThat(cache.record("key", "one-more", 20_000, 10_001)).isEqualTo(Outcome.FRESH);
  }

  @Test
  void theSizeIsAPowerOfTwo() {
    assertThatThrownBy(() -> new DpopReplayCache(1000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("power of two");
  }
}
