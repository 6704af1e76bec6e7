package io.tokengate.sidecar;

import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import io.tokengate.api.BuildInfo;
import io.tokengate.sidecar.config.InvalidConfigException;
import io.tokengate.sidecar.log.EventLog;
import io.tokengate.sidecar.log.JsonLogHandler;
import sun.misc.Signal;

/**
 * {@code java -jar tokengate-sidecar.jar --config PATH --listen-port N --admin-port M}: see {@link
 * LaunchOptions#USAGE}. Exit status 0 after a drained shutdown, 1 for a configuration that cannot
 * be served or a port that cannot be bound, 2 for a bad command line.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    if (LaunchOptions.wantsVersion(args)) {
      System.out.println(BuildInfo.current().describe("tokengate-sidecar"));
      return;
    }
    LaunchOptions options;
    try {
      options = LaunchOptions.parse(args, System.getenv());
    } catch (LaunchOptions.UsageException e) {
      System.err.println("tokengate-sidecar: " + e.getMessage());
      System.err.println("Run with --help for usage.");
      System.exit(2);
      return;
    }
    if (options.help()) {
      System.out.print(LaunchOptions.USAGE);
      return;
    }
    // Vert.x and Netty would pick SLF4J when its API is on the class path (fabric8 brings it,
    // without a provider): point both at java.util.logging, which JsonLogHandler turns into JSON.
    System.setProperty(
        "vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.JULLogDelegateFactory");
    InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
    EventLog log = new EventLog();
    JsonLogHandler.install(log);
    Sidecar sidecar;
    try {
      sidecar = Sidecar.start(options, log, Sidecar.Tuning.DEFAULTS);
    } catch (InvalidConfigException e) {
      fail(log, "config_invalid", "invalid configuration: " + e.getMessage());
      return;
    } catch (Sidecar.StartupException e) {
      fail(log, "startup_failed", "cannot start: " + e.getMessage());
      return;
    }
    Runnable stop =
        () -> {
          sidecar.drain();
          System.exit(0);
        };
    try {
      // SIGTERM is the kubelet's "please stop": handled, so the drain ends in exit status 0
      // rather than the JVM's 143.
      Signal.handle(new Signal("TERM"), sig -> new Thread(stop, "tokengate-drain").start());
      Signal.handle(new Signal("INT"), sig -> new Thread(stop, "tokengate-drain").start());
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      Runtime.getRuntime().addShutdownHook(new Thread(sidecar::drain, "tokengate-drain"));
    }
  }

  private static void fail(EventLog log, String event, String message) {
    log.error(event, message);
    log.flush(2000);
    System.err.println("tokengate-sidecar: " + message);
    System.exit(1);
  }
}
