package io.tokengate.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class StatusConditionsTest {
  private static final Clock T1 =
      Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
  private static final Clock T2 =
      Clock.fixed(Instant.parse("2026-01-02T00:00:00Z"), ZoneOffset.UTC);

  @Test
  void keepsTheTransitionTimeUnlessTheStatusFlips() {
    var first = new StatusConditions(null, 1L, T1).set("Ready", true, "Ready", "ok").build();
    var same = new StatusConditions(first, 2L, T2).set("Ready", true, "Ready", "still ok");
    assertThat(same.build().get(0).getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(same.build().get(0).getObservedGeneration()).isEqualTo(2L);
    assertThat(same.changed()).isEmpty();

    var flipped = new StatusConditions(first, 2L, T2).set("Ready", false, "IssuerNotFound", "gone");
    assertThat(flipped.build().get(0).getLastTransitionTime()).isEqualTo("2026-01-02T00:00:00Z");
    assertThat(flipped.changed())
        .singleElement()
        .satisfies(c -> assertThat(c.getReason()).isEqualTo("IssuerNotFound"));
  }
}
