package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TraceContextTest {
  @Test
  void aWellFormedHeaderGivesItsIds() {
    TraceContext t = TraceContext.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assertThat(t.traceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(t.parentId()).isEqualTo("b7ad6b7169203331");
  }

  @Test
  void aLaterVersionMayAppendFields() {
    assertThat(TraceContext.parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"))
        .isNotNull();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
        "00-0af7651916cd43dd8448eb211c8031\\\"-b7ad6b7169203331-01"
      })
  void malformedHeadersGiveNothing(String header) {
    assertThat(TraceContext.parse(header)).isNull();
  }

  @Test
  void noHeaderGivesNothing() {
    assertThat(TraceContext.parse(null)).isNull();
  }
}
