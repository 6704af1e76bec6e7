package io.tokengate.sidecar;

import io.tokengate.api.BuildInfo;
import io.tokengate.sidecar.admin.AdminServer;
import io.tokengate.sidecar.admin.GateMetrics;
import io.tokengate.sidecar.config.ConfigLoader;
import io.tokengate.sidecar.config.ConfigProblem;
import io.tokengate.sidecar.config.ConfigWatcher;
import io.tokengate.sidecar.config.InvalidConfigException;
import io.tokengate.sidecar.config.SidecarConfig;
import io.tokengate.sidecar.http.GateHandler;
import io.tokengate.sidecar.http.GateVerticle;
import io.tokengate.sidecar.log.EventLog;
import io.tokengate.sidecar.validation.DpopReplayCache;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The running sidecar: loads the configuration, starts the proxy (one verticle per event loop) and
 * the admin port, reloads when PATH changes, and drains on shutdown.
 */
public final class Sidecar {
  /** Headroom of the HTTP decoder above the policy's header limit: we answer 431 ourselves. */
  private static final int DECODER_HEADROOM = 16 * 1024;

  /** Old validators are released this long after a swap, when in-flight requests are done. */
  private static final long RELEASE_DELAY_MILLIS = 30_000;

  private final LaunchOptions options;
  private final EventLog log;
  private final Vertx vertx;
  private final GateMetrics metrics;
  private final ValidatorFactory validators;
  private final Duration readyTimeout;
  private final Duration reloadInterval;
  private final GateHandler.Capacity capacity;
  private final List<GateVerticle> verticles = new ArrayList<>();
  private final GateState state;
  // One replay cache for the life of the process: a reload must not forget the proofs seen.
  private final ActivePolicy.Presentation presentation;
  private final ActivePolicy.Defaults defaults;
  private ValidatorFactory.Built serving;
  private final AdminServer admin;
  private ConfigWatcher watcher;
  private int decoderLimit;
  private int listenPort;
  private boolean stopped;

  /**
   * Tuning of validation, reloads and load shedding; production uses {@link #DEFAULTS}.
   *
   * @param capacity per event loop, or null to size it from the heap
   */
  public record Tuning(
      ValidationTuning validation,
      Duration reloadInterval,
      Duration readyTimeout,
      GateHandler.Capacity capacity) {
    public static final Tuning DEFAULTS =
        new Tuning(ValidationTuning.DEFAULTS, Duration.ofSeconds(1), Duration.ofSeconds(15), null);

    public Tuning(ValidationTuning validation, Duration reloadInterval, Duration readyTimeout) {
      this(validation, reloadInterval, readyTimeout, null);
    }
  }

  private Sidecar(LaunchOptions options, EventLog log, Tuning tuning, Engine runtime) {
    this.options = options;
    this.log = log;
    this.readyTimeout = tuning.readyTimeout();
    this.reloadInterval = tuning.reloadInterval();
    this.capacity = tuning.capacity() != null ? tuning.capacity() : capacityFromMemory();
    this.vertx = runtime.vertx();
    this.metrics = runtime.metrics();
    this.state = runtime.state();
    this.admin = runtime.admin();
    this.validators = new ValidatorFactory(vertx, metrics.registry(), tuning.validation());
    this.defaults = new ActivePolicy.Defaults(options.decisionLogAllowed());
    this.presentation =
        new ActivePolicy.Presentation(
            new DpopReplayCache(DpopReplayCache.DEFAULT_SLOTS), tuning.validation().clock());
  }

  /**
   * What can be built before the configuration is known: Vert.x, the meter registry and the admin
   * port (answering 503 until a configuration is serving).
   */
  private record Engine(Vertx vertx, GateMetrics metrics, GateState state, AdminServer admin) {
    static Engine create(LaunchOptions options) {
      int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
      Vertx vertx =
          Vertx.builder()
              .with(
                  new VertxOptions()
                      .setEventLoopPoolSize(loops)
                      .setWorkerPoolSize(2)
                      .setInternalBlockingPoolSize(2)
                      .setPreferNativeTransport(true))
              .withTransport(io.tokengate.sidecar.http.GuardedTransport.preferNative())
              .build();
      GateMetrics metrics = new GateMetrics();
      GateState state = new GateState(null);
      AdminServer admin = new AdminServer(vertx, state, metrics, options.appProbes());
      try {
        await(
            admin.listen(options.adminHost(), options.adminPort()),
            "admin port " + options.adminPort());
      } catch (StartupException e) {
        vertx.close();
        throw e;
      }
      return new Engine(vertx, metrics, state, admin);
    }
  }

  /**
   * Starts a sidecar; returns once both ports are bound (readiness follows when keys are held).
   *
   * @throws InvalidConfigException for a configuration that cannot be served
   * @throws StartupException when a port cannot be bound
   */
  public static Sidecar start(LaunchOptions options, EventLog log, Tuning tuning) {
    long t0 = System.nanoTime();
    // Vert.x (Netty, event loops), the meter registry and the admin port boot on another core
    // while the configuration is read and parsed: together they are most of the time to ready.
    CompletableFuture<Engine> booting =
        CompletableFuture.supplyAsync(
            () -> Engine.create(options),
            r -> {
              Thread t = new Thread(r, "tokengate-boot");
              t.setDaemon(true);
              t.start();
            });
    Map<Path, String> files;
    SidecarConfig config;
    try {
      files = ConfigLoader.read(options.config());
      config = ConfigLoader.parse(options.config(), files);
    } catch (RuntimeException e) {
      booting.thenAccept(r -> r.vertx().close());
      throw e;
    }
    Engine engine;
    try {
      engine = booting.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    Sidecar s = new Sidecar(options, log, tuning, engine);
    try {
      s.boot(config, files, t0);
    } catch (RuntimeException e) {
      s.vertx.close();
      throw e;
    }
    return s;
  }

  private void boot(SidecarConfig config, Map<Path, String> files, long t0) {
    serving = build(config);
    validators.activate(serving);
    state.swap(new ActivePolicy(config, serving.validator(), presentation, defaults));
    metrics.configHash(configHash(files));
    int maxHeaderBytes = state.current().maxHeaderBytes();
    decoderLimit = Math.max(maxHeaderBytes, 64 * 1024) + DECODER_HEADROOM;

    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    // All instances bind the same port; Vert.x shares one listening socket between them and
    // spreads connections over their event loops. It does not share "port 0", so a free port is
    // picked first.
    int port = options.listenPort() == 0 ? freePort(options.listenHost()) : options.listenPort();
    io.tokengate.sidecar.http.GuardedTransport.guardPort(port);
    await(
        vertx.deployVerticle(
            () -> {
              GateVerticle v = verticle(port);
              synchronized (verticles) {
                verticles.add(v);
              }
              return v;
            },
            new DeploymentOptions().setInstances(loops)),
        "listen port " + port);
    listenPort = verticles.get(0).actualPort();
    for (GateVerticle v : verticles) {
      if (v.actualPort() != listenPort) {
        throw new StartupException(
            "listen port: event loops bound different ports ("
                + v.actualPort()
                + ", "
                + listenPort
                + ")");
      }
    }
    metrics.inFlight(() -> verticles.stream().mapToInt(GateVerticle::awaitingUpstream).sum());
    state.markListening();
    watcher =
        new ConfigWatcher(options.config(), reloadInterval, files, this::reload, this::unreadable)
            .start();
    log.info(
        "startup",
        "tokengate sidecar listening",
        "version",
        BuildInfo.current().version(),
        "java_version",
        BuildInfo.current().javaVersion(),
        "policy",
        config.policyId(),
        "issuer",
        String.join(", ", config.issuers().stream().map(i -> i.identifier()).toList()),
        "listen_port",
        Integer.toString(listenPort),
        "admin_port",
        Integer.toString(admin.actualPort()),
        "upstream",
        "127.0.0.1:" + config.policy().getSpec().upstream.port,
        "mode",
        String.valueOf(config.policy().getSpec().mode),
        "key_snapshot",
        String.join(
            ", ", config.issuers().stream().map(i -> String.valueOf(i.snapshotFile())).toList()),
        "transport",
        vertx.isNativeTransportEnabled() ? "epoll" : "nio",
        "event_loops",
        Integer.toString(verticles.size()),
        "max_connections",
        Integer.toString(capacity.connections() * verticles.size()),
        "startup_ms",
        Long.toString(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
    announceReadiness(t0);
  }

  private GateVerticle verticle(int port) {
    return new GateVerticle(
        options.listenHost(), port, decoderLimit, capacity, state, metrics, log);
  }

  /**
   * What one event loop takes on before it sheds load, sized from the memory the process really
   * has: the heap limit (-Xmx, or the JVM's share of the container) and the direct-memory limit
   * Netty allocates from. A connection costs about 12 KiB of state plus up to {@link
   * GateHandler.Capacity#FREE_HEAD_BYTES} of head held about four times over by the decoder (bytes,
   * parsed lines, header objects): half the heap is given to connections, an eighth to heads beyond
   * that free allowance, a quarter to requests in flight (about 16 KiB each, with their upstream
   * connection). A 48 MiB heap gives about 850 connections and 768 requests in flight in all.
   */
  static GateHandler.Capacity capacityFromMemory() {
    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    long heap = Runtime.getRuntime().maxMemory();
    long direct = io.netty.util.internal.PlatformDependent.maxDirectMemory();
    long perConnection = 12 * 1024 + 4L * GateHandler.Capacity.FREE_HEAD_BYTES;
    // Reads land in direct buffers before the decoder copies them: a connection reading at most
    // one 64 KiB buffer at a time needs that much direct memory while it reads.
    long byHeap = heap / 2 / perConnection;
    long byDirect = direct > 0 ? direct / (16 * 1024) : byHeap;
    int total = (int) Math.max(128, Math.min(65536, Math.min(byHeap, byDirect)));
    int inFlight = (int) Math.max(64, Math.min(65536, heap / 4 / (16 * 1024)));
    long sharedHead = Math.max(256 * 1024, heap / 8 / 4);
    return new GateHandler.Capacity(
        Math.max(64, total / loops),
        Math.max(32, inFlight / loops),
        GateHandler.Capacity.FREE_HEAD_BYTES,
        sharedHead / loops,
        GateHandler.Capacity.HEAD_TIMEOUT_MILLIS,
        GateHandler.Capacity.IDLE_TIMEOUT_MILLIS);
  }

  private void announceReadiness(long t0) {
    // No zero initial delay: a periodic timer that fires before Vert.x has stored its own
    // scheduled future cannot be cancelled from its first run (the cancel throws), and the line
    // below would never be written. Log first, then cancel.
    vertx.setPeriodic(
        20,
        id -> {
          if (state.notReadyReason() == null) {
            log.info(
                "ready",
                "keys loaded; serving",
                "ready_ms",
                Long.toString(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
            vertx.cancelTimer(id);
          }
        });
  }

  private ValidatorFactory.Built build(SidecarConfig config) {
    try {
      return validators.build(config);
    } catch (IllegalArgumentException e) {
      throw new InvalidConfigException(
          new ConfigProblem(
              config.firstIssuer().issuerFile(), config.firstIssuer().ref(), null, e.getMessage()));
    }
  }

  /**
   * The hash of the loaded files by name: for a ConfigMap volume, the operator's {@code
   * status.configHash} of that ConfigMap (every data key is a file the loader reads).
   */
  static String configHash(Map<Path, String> files) {
    Map<String, String> byName = new java.util.TreeMap<>();
    files.forEach((path, content) -> byName.put(path.getFileName().toString(), content));
    return io.tokengate.api.v1alpha1.ConfigHash.of(byName);
  }

  /** Runs on the watcher thread: parse, check and build fully, then swap; or refuse. */
  private void reload(Map<Path, String> files) {
    ValidatorFactory.Built built = null;
    try {
      SidecarConfig config = ConfigLoader.parse(options.config(), files);
      built = build(config);
      if (!built.sharesKeys() && !awaitReady(built)) {
        throw new InvalidConfigException(
            new ConfigProblem(
                config.firstIssuer().issuerFile(),
                config.firstIssuer().ref(),
                "spec.issuer",
                "no signing keys could be loaded within "
                    + readyTimeout.toSeconds()
                    + " s (and no key snapshot was given)"));
      }
      ActivePolicy next = new ActivePolicy(config, built.validator(), presentation, defaults);
      if (next.maxHeaderBytes() + DECODER_HEADROOM > decoderLimit) {
        log.warn(
            "reload",
            "spec.limits.maxHeaderBytes grew beyond what the listener was started with; headers"
                + " above "
                + (decoderLimit - DECODER_HEADROOM)
                + " bytes are refused by the HTTP decoder until restart",
            "policy",
            config.policyId());
      }
      ValidatorFactory.Built previous;
      synchronized (this) {
        if (stopped) {
          validators.release(built);
          return;
        }
        state.swap(next);
        validators.activate(built);
        previous = serving;
        serving = built;
      }
      ValidatorFactory.Built old = previous;
      vertx.setTimer(RELEASE_DELAY_MILLIS, id -> validators.release(old));
      metrics.reload(true);
      metrics.configHash(configHash(files));
      log.info(
          "reload",
          "configuration reloaded",
          "policy",
          config.policyId(),
          "fingerprint",
          ConfigWatcher.fingerprint(files).substring(0, 16),
          "keys",
          built.sharesKeys() ? "kept" : "reloaded");
    } catch (InvalidConfigException e) {
      if (built != null) {
        validators.release(built);
      }
      metrics.reload(false);
      log.error(
          "reload_refused",
          "new configuration refused, the previous one keeps serving: " + e.getMessage(),
          "problems",
          e.getMessage());
    } catch (RuntimeException e) {
      if (built != null) {
        validators.release(built);
      }
      metrics.reload(false);
      log.error(
          "reload_refused",
          "new configuration refused, the previous one keeps serving: " + e,
          "problems",
          e.toString());
    }
  }

  private void unreadable(InvalidConfigException e) {
    metrics.reload(false);
    log.error(
        "reload_refused",
        "configuration unreadable, the previous one keeps serving: " + e.getMessage(),
        "problems",
        e.getMessage());
  }

  private boolean awaitReady(ValidatorFactory.Built built) {
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (built.validator().ready()) {
        return true;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return built.validator().ready();
  }

  /**
   * Graceful stop: readiness turns 503, the listener stops accepting, in-flight requests get up to
   * {@code --drain-seconds} to finish, then everything closes. Idempotent; blocks until done.
   */
  public void drain() {
    synchronized (this) {
      if (stopped) {
        return;
      }
      stopped = true;
    }
    long t0 = System.nanoTime();
    state.startDraining();
    log.info(
        "draining",
        "shutdown requested: not ready, no new connections, finishing in-flight requests",
        "drain_seconds",
        Integer.toString(options.drainSeconds()));
    if (watcher != null) {
      watcher.close();
    }
    List<Future<Void>> drains = new ArrayList<>();
    for (GateVerticle v : verticles) {
      drains.add(v.drain(options.drainSeconds()));
    }
    try {
      Future.join(drains)
          .toCompletionStage()
          .toCompletableFuture()
          .get(options.drainSeconds() + 5L, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("draining", "drain did not complete cleanly: " + e.getMessage());
    }
    try {
      admin.close().toCompletionStage().toCompletableFuture().get(2, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // The process is exiting; an admin port that does not close in time changes nothing.
    }
    validators.close();
    io.tokengate.sidecar.http.GuardedTransport.unguardPort(listenPort);
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // As above: nothing is left to serve.
    }
    log.info(
        "stopped",
        "drained",
        "drain_ms",
        Long.toString(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
    log.flush(2000);
  }

  public int listenPort() {
    return listenPort;
  }

  public int adminPort() {
    return admin.actualPort();
  }

  public GateState state() {
    return state;
  }

  public GateMetrics metrics() {
    return metrics;
  }

  private static int freePort(String host) {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new StartupException("no free port on " + host + ": " + e.getMessage());
    }
  }

  private static <T> T await(Future<T> f, String what) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException(what + ": interrupted");
    } catch (ExecutionException | CompletionException e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      throw new StartupException(what + ": " + c.getMessage());
    } catch (TimeoutException e) {
      throw new StartupException(what + ": did not start within 30 s");
    }
  }

  /** A port that cannot be bound and the like; exit status 1. */
  public static final class StartupException extends RuntimeException {
    public StartupException(String message) {
      super(message, null, false, false);
    }
  }
}
