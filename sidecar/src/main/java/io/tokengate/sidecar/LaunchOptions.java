package io.tokengate.sidecar;

import io.tokengate.api.v1alpha1.apipolicy.DecisionLog;
import io.tokengate.sidecar.admin.AppProbes;
import java.nio.file.Path;
import java.util.Map;

/**
 * The command line, a stable contract the operator's injector relies on: {@code --config PATH
 * --listen-port N --admin-port M [--drain-seconds S]}, each flag with an environment twin; a flag
 * wins over its variable. {@code --flag value} and {@code --flag=value} both work.
 *
 * @param config a YAML file, or a directory of them (a mounted ConfigMap)
 * @param listenHost where the proxy listens
 * @param listenPort the proxy port (0: any free port)
 * @param adminHost where the admin endpoints listen
 * @param adminPort the admin port (0: any free port)
 * @param drainSeconds how long in-flight requests may take to finish after SIGTERM
 * @param appProbes the application's probes the admin port forwards (see {@link AppProbes})
 * @param decisionLogAllowed the log lines of allowed requests where a policy does not say
 * @param help print usage and exit
 */
public record LaunchOptions(
    Path config,
    String listenHost,
    int listenPort,
    String adminHost,
    int adminPort,
    int drainSeconds,
    AppProbes appProbes,
    DecisionLog.Allowed decisionLogAllowed,
    boolean help) {

  public static final int DEFAULT_LISTEN_PORT = 7450;
  public static final int DEFAULT_ADMIN_PORT = 7451;
  public static final int DEFAULT_DRAIN_SECONDS = 20;

  public static final String USAGE =
      """
      Usage: java -jar tokengate-sidecar.jar --config PATH [options]

      Validates the OAuth bearer token of every request against the issuer an ApiPolicy names,
      applies the policy's rules, and forwards allowed requests to the application on
      127.0.0.1:<spec.upstream.port>.

        --config PATH          ApiPolicy and TokenIssuer/ClusterTokenIssuer YAML: a file, or a
                               directory of *.yaml/*.yml (+ <issuer>.jwks.json key snapshots).
                               Reloaded when it changes.                     [TOKENGATE_CONFIG]
        --listen-port N        proxy port (default 7450)                [TOKENGATE_LISTEN_PORT]
        --admin-port M         /healthz/live, /healthz/ready, /metrics (default 7451)
                                                                         [TOKENGATE_ADMIN_PORT]
        --drain-seconds S      grace period for in-flight requests after SIGTERM (default 20)
                                                                      [TOKENGATE_DRAIN_SECONDS]
        --listen-host H        proxy bind address (default 0.0.0.0)     [TOKENGATE_LISTEN_HOST]
        --admin-host H         admin bind address (default 0.0.0.0)      [TOKENGATE_ADMIN_HOST]
        --app-probes JSON      the application's probes the admin port forwards over loopback,
                               {"/app-health/<container>/<probe>": <Kubernetes probe>, ...}
                                                                         [TOKENGATE_APP_PROBES]
        --decision-log-allowed None|Sampled|All
                               log lines of allowed requests where the policy's
                               spec.decisionLog does not say (default Sampled; refusals
                               are always logged)          [TOKENGATE_DECISION_LOG_ALLOWED]
        --version              print the version and the Java runtime, and exit
        -h, --help             this text

      Exit status: 0 after a drained shutdown, 1 for a configuration that cannot be served or a
      port that cannot be bound, 2 for a bad command line.
      """;

  /** A command line that cannot be run; exit status 2. */
  public static final class UsageException extends RuntimeException {
    public UsageException(String message) {
      super(message, null, false, false);
    }
  }

  /** {@code --version} anywhere on the command line: print the version and exit 0. */
  public static boolean wantsVersion(String[] args) {
    return java.util.Arrays.asList(args).contains("--version");
  }

  public static LaunchOptions parse(String[] args, Map<String, String> env) {
    String config = env.get("TOKENGATE_CONFIG");
    String listenPort = env.get("TOKENGATE_LISTEN_PORT");
    String adminPort = env.get("TOKENGATE_ADMIN_PORT");
    String drain = env.get("TOKENGATE_DRAIN_SECONDS");
    String listenHost = env.get("TOKENGATE_LISTEN_HOST");
    String adminHost = env.get("TOKENGATE_ADMIN_HOST");
    String appProbes = env.get("TOKENGATE_APP_PROBES");
    String decisionLog = env.get("TOKENGATE_DECISION_LOG_ALLOWED");
    boolean help = false;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("-h") || arg.equals("--help")) {
        help = true;
        continue;
      }
      if (!arg.startsWith("--")) {
        throw new UsageException("unexpected argument '" + arg + "'");
      }
      String name = arg;
      String value = null;
      int eq = arg.indexOf('=');
      if (eq > 0) {
        name = arg.substring(0, eq);
        value = arg.substring(eq + 1);
      }
      if (!isKnown(name)) {
        throw new UsageException("unknown option '" + name + "'");
      }
      if (value == null) {
        if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
          throw new UsageException(name + " needs a value");
        }
        value = args[++i];
      }
      switch (name) {
        case "--config" -> config = value;
        case "--listen-port" -> listenPort = value;
        case "--admin-port" -> adminPort = value;
        case "--drain-seconds" -> drain = value;
        case "--listen-host" -> listenHost = value;
        case "--app-probes" -> appProbes = value;
        case "--decision-log-allowed" -> decisionLog = value;
        default -> adminHost = value;
      }
    }
    if (help) {
      return new LaunchOptions(
          null, null, 0, null, 0, 0, AppProbes.NONE, DecisionLog.Allowed.Sampled, true);
    }
    if (config == null || config.isBlank()) {
      throw new UsageException("--config PATH is required (or TOKENGATE_CONFIG)");
    }
    int listen = port("--listen-port", listenPort, DEFAULT_LISTEN_PORT);
    int admin = port("--admin-port", adminPort, DEFAULT_ADMIN_PORT);
    if (listen != 0 && listen == admin) {
      throw new UsageException("--listen-port and --admin-port must differ, both are " + listen);
    }
    int drainSeconds = number("--drain-seconds", drain, DEFAULT_DRAIN_SECONDS, 0, 3600);
    return new LaunchOptions(
        Path.of(config),
        host("--listen-host", listenHost),
        listen,
        host("--admin-host", adminHost),
        admin,
        drainSeconds,
        probes(appProbes),
        decisionLogAllowed(decisionLog),
        false);
  }

  private static DecisionLog.Allowed decisionLogAllowed(String value) {
    if (value == null || value.isBlank()) {
      return DecisionLog.Allowed.Sampled;
    }
    for (DecisionLog.Allowed a : DecisionLog.Allowed.values()) {
      if (a.name().equals(value)) {
        return a;
      }
    }
    throw new UsageException(
        "--decision-log-allowed must be None, Sampled or All, not '" + value + "'");
  }

  private static boolean isKnown(String name) {
    return switch (name) {
      case "--config",
          "--listen-port",
          "--admin-port",
          "--drain-seconds",
          "--listen-host",
          "--admin-host",
          "--app-probes",
          "--decision-log-allowed" ->
          true;
      default -> false;
    };
  }

  private static AppProbes probes(String json) {
    try {
      return AppProbes.parse(json);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--app-probes (TOKENGATE_APP_PROBES): " + e.getMessage());
    }
  }

  private static int port(String flag, String value, int fallback) {
    return number(flag, value, fallback, 0, 65535);
  }

  private static int number(String flag, String value, int fallback, int min, int max) {
    if (value == null || value.isBlank()) {
      return fallback;
    }
    int n;
    try {
      n = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(flag + ": '" + value + "' is not a number");
    }
    if (n < min || n > max) {
      throw new UsageException(flag + ": " + n + " is out of range " + min + ".." + max);
    }
    return n;
  }

  private static String host(String flag, String value) {
    if (value == null || value.isBlank()) {
      return "0.0.0.0";
    }
    if (!value.matches("[A-Za-z0-9.:\\-\\[\\]]+")) {
      throw new UsageException(flag + ": '" + value + "' is not a host name or address");
    }
    return value;
  }
}
