import io.tokengate.operator.injection.SidecarJvmOptions;
import java.util.Optional;

/**
 * Prints the sidecar JVM's JAVA_TOOL_OPTIONS that the operator injects for a memory limit in bytes
 * (none: no limit). Compiled by bench/lib/injected.py together with the operator's own
 * SidecarJvmOptions source, so the benchmark runs exactly the flags the operator sets.
 */
public final class InjectedJvmOptions {
  public static void main(String[] args) {
    Optional<Long> limit =
        args.length == 0 ? Optional.empty() : Optional.of(Long.parseLong(args[0]));
    System.out.println(SidecarJvmOptions.forLimit(limit));
  }
}
