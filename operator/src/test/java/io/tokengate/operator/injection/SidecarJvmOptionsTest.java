package io.tokengate.operator.injection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SidecarJvmOptionsTest {
  static final long MIB = 1024L * 1024;

  static List<String> flags(long limitMib) {
    return Arrays.asList(SidecarJvmOptions.forLimit(Optional.of(limitMib * MIB)).split(" "));
  }

  @Test
  void at128MiEveryRegionHasAnExplicitSize() {
    assertThat(flags(128))
        .containsExactly(
            "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.io.tmpdir=/tmp",
            "-Xmx40m",
            "-XX:MaxDirectMemorySize=16m",
            "-Dio.netty.maxDirectMemory=" + 16 * MIB,
            "-Dio.netty.allocator.numDirectArenas=1",
            "-Dio.netty.allocator.numHeapArenas=1",
            "-Dio.netty.allocator.maxOrder=7",
            "-XX:MaxMetaspaceSize=40m",
            "-XX:ReservedCodeCacheSize=16m",
            "-Xss256k",
            "-XX:TieredStopAtLevel=1",
            "-XX:CICompilerCount=1");
  }

  @Test
  void theExplicitSizesNeverExceedTheLimit() {
    for (long limit = 96; limit <= 4096; limit += 8) {
      var sizes = SidecarJvmOptions.sizes(limit * MIB);
      long total =
          sizes.heapMib()
              + sizes.directMib()
              + SidecarJvmOptions.METASPACE_MIB
              + SidecarJvmOptions.CODE_CACHE_MIB
              + SidecarJvmOptions.NATIVE_RESERVE_MIB;
      assertThat(total).as("limit %d Mi", limit).isLessThanOrEqualTo(limit);
      assertThat(sizes.heapMib()).as("limit %d Mi", limit).isGreaterThan(sizes.directMib());
    }
  }

  @Test
  void largerLimitsGrowHeapAndDirectMemoryAndKeepC2() {
    assertThat(flags(256)).contains("-Xmx112m", "-XX:MaxDirectMemorySize=45m");
    assertThat(flags(256)).contains("-XX:TieredStopAtLevel=1");
    assertThat(flags(512)).doesNotContain("-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1");
    assertThat(flags(1024)).contains("-XX:MaxMetaspaceSize=40m", "-XX:ReservedCodeCacheSize=16m");
  }

  @Test
  void nettyAndTheJdkShareOneDirectMemoryBudget() {
    for (long limit : new long[] {96, 128, 300, 1000}) {
      List<String> f = flags(limit);
      long jdk =
          f.stream()
              .filter(x -> x.startsWith("-XX:MaxDirectMemorySize="))
              .map(x -> Long.parseLong(x.replaceAll("\\D", "")) * MIB)
              .findFirst()
              .orElseThrow();
      assertThat(f).contains("-Dio.netty.maxDirectMemory=" + jdk);
    }
  }

  @Test
  void aLimitTooSmallForTheJvmIsRefusedNamingTheFloor() {
    assertThatThrownBy(() -> SidecarJvmOptions.forLimit(Optional.of(64 * MIB)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 96 Mi");
    assertThatThrownBy(
            () ->
                new SidecarSettings(
                    "img",
                    null,
                    7450,
                    7451,
                    new SidecarSettings.Resources("50m", "64Mi", null, "64Mi"),
                    "tokengate-system"))
        .hasMessageContaining("at least 96 Mi");
    assertThatThrownBy(
            () -> new SidecarSettings.Resources("50m", "64Mi", null, "lots").memoryLimitBytes())
        .hasMessageContaining("'lots' is not a Kubernetes quantity");
  }

  @Test
  void withoutALimitTheHeapIsAShareOfWhatTheJvmSees() {
    assertThat(SidecarJvmOptions.forLimit(Optional.empty()))
        .contains("-XX:MaxRAMPercentage=50")
        .doesNotContain("-Xmx");
  }
}
