package io.tokengate.operator.injection;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The sidecar JVM's {@code JAVA_TOOL_OPTIONS}, sized explicitly from the container's memory limit.
 * Percentages of the limit ({@code -XX:MaxRAMPercentage}) do not hold at sidecar sizes: below about
 * 250 MiB the JVM ignores them, and the native parts (metaspace, code cache, thread stacks, direct
 * buffers) would then grow until the cgroup kills the process. So every region gets a size:
 *
 * <ul>
 *   <li>fixed costs that do not grow with the limit: metaspace {@value #METASPACE_MIB} MiB (the
 *       sidecar's classes), code cache {@value #CODE_CACHE_MIB} MiB, {@value #STACK_KIB} KiB per
 *       thread stack, and {@value #NATIVE_RESERVE_MIB} MiB for the rest of the JVM's native memory
 *       (GC structures, threads, symbol tables, libc);
 *   <li>what remains goes five eighths to the heap and a quarter to direct memory (Netty's
 *       buffers); the last eighth is headroom for the JDK's own direct buffers, which Netty does
 *       not count, and a tenth of what exceeds 128 MiB is held back for native growth.
 * </ul>
 *
 * <p>Netty's pooled allocator gets one heap and one direct arena with 1 MiB chunks ({@code
 * maxOrder=7}): its default of two arenas per core with 4 MiB chunks reserves more direct memory
 * than a small limit holds, before a single connection is open.
 *
 * <p>At 128 MiB: heap 40 MiB, direct 16 MiB, metaspace 40 MiB, code cache 16 MiB; measured by
 * {@code bench/memory-burst.sh} at 75 MiB peak under 10,000 connections. Below {@value
 * #TIERED_C1_ONLY_BELOW_MIB} MiB the JIT stops at C1 ({@code -XX:TieredStopAtLevel=1}): C2's
 * compiler arenas take tens of MiB of native memory in bursts, which a small container cannot
 * absorb (the same burst with C2 was OOM-killed at 128 MiB), and C1 alone, on one compiler thread,
 * fills a fraction of the code cache; the proxy's hot path loses some peak throughput, which the
 * larger limits get back. Netty's own limit ({@code -Dio.netty.maxDirectMemory}) equals {@code
 * -XX:MaxDirectMemorySize}: Netty then counts its buffers itself (the sidecar can read that count
 * to shed load before the limit) and the JDK's own direct buffers, which Netty's transports hardly
 * use, stay under the JDK's limit; the reserve above absorbs those.
 */
public final class SidecarJvmOptions {
  static final long MIB = 1024L * 1024;
  static final int METASPACE_MIB = 40;
  static final int CODE_CACHE_MIB = 16;
  static final int NATIVE_RESERVE_MIB = 8;
  static final int STACK_KIB = 256;
  static final int TIERED_C1_ONLY_BELOW_MIB = 512;

  /** Smaller limits cannot hold the fixed costs and a working heap: refused, naming the floor. */
  public static final long MINIMUM_LIMIT_BYTES = 96 * MIB;

  /** Flags every sidecar JVM gets, whatever its limit. */
  static final List<String> ALWAYS =
      List.of("-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError", "-Djava.io.tmpdir=/tmp");

  /** Netty's pooled allocator at sidecar sizes: one arena of each kind, 1 MiB chunks. */
  static final List<String> NETTY_ALLOCATOR =
      List.of(
          "-Dio.netty.allocator.numDirectArenas=1",
          "-Dio.netty.allocator.numHeapArenas=1",
          "-Dio.netty.allocator.maxOrder=7");

  private SidecarJvmOptions() {}

  /**
   * The options for a container limited to {@code limitBytes}; without a limit the heap is a share
   * of whatever memory the JVM sees (the node's), which is all one can do.
   *
   * @throws IllegalArgumentException when the limit is below {@link #MINIMUM_LIMIT_BYTES}
   */
  public static String forLimit(Optional<Long> limitBytes) {
    List<String> flags = new ArrayList<>(ALWAYS);
    if (limitBytes.isEmpty()) {
      flags.add("-XX:MaxRAMPercentage=50");
      flags.add("-Xss" + STACK_KIB + "k");
      return String.join(" ", flags);
    }
    Sizes sizes = sizes(limitBytes.get());
    flags.add("-Xmx" + sizes.heapMib() + "m");
    flags.add("-XX:MaxDirectMemorySize=" + sizes.directMib() + "m");
    flags.add("-Dio.netty.maxDirectMemory=" + sizes.directMib() * MIB);
    flags.addAll(NETTY_ALLOCATOR);
    flags.add("-XX:MaxMetaspaceSize=" + METASPACE_MIB + "m");
    flags.add("-XX:ReservedCodeCacheSize=" + CODE_CACHE_MIB + "m");
    flags.add("-Xss" + STACK_KIB + "k");
    if (limitBytes.get() < TIERED_C1_ONLY_BELOW_MIB * MIB) {
      flags.add("-XX:TieredStopAtLevel=1");
      flags.add("-XX:CICompilerCount=1");
    }
    return String.join(" ", flags);
  }

  /** Heap and direct memory for a container limit, in MiB. */
  static Sizes sizes(long limitBytes) {
    if (limitBytes < MINIMUM_LIMIT_BYTES) {
      throw new IllegalArgumentException(
          "the sidecar's memory limit must be at least %d Mi (metaspace, code cache and the JVM's own memory take %d Mi before any heap); got %d bytes"
              .formatted(
                  MINIMUM_LIMIT_BYTES / MIB,
                  METASPACE_MIB + CODE_CACHE_MIB + NATIVE_RESERVE_MIB,
                  limitBytes));
    }
    long limitMib = limitBytes / MIB;
    long rest = limitMib - METASPACE_MIB - CODE_CACHE_MIB - NATIVE_RESERVE_MIB;
    if (limitMib > 128) {
      rest -= (limitMib - 128) / 10;
    }
    return new Sizes(rest * 5 / 8, rest / 4);
  }

  record Sizes(long heapMib, long directMib) {}
}
