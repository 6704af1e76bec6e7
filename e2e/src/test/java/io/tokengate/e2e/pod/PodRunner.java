package io.tokengate.e2e.pod;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.api.v1alpha1.ResourceReader;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.e2e.support.Ports;
import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Runs an admitted Pod's injected sidecar the way a kubelet would, on this machine (the e2e control
 * plane has no kubelet): it reads the {@code tokengate-sidecar} container from the pod spec the API
 * server stored, lays out the ConfigMap volume it mounts (see {@link ConfigMapVolume}), and starts
 * the container's args against the sidecar's entrypoint, {@code java -jar
 * sidecar/target/tokengate-sidecar.jar}, with the container's environment. Beside it, {@link
 * UpstreamApp} plays the application container on the policy's upstream port.
 *
 * <p>What the runner changes, and why: every "pod" here shares the host's loopback, so the listen
 * and admin port values in the args are replaced by free ports, and the mount path (e.g. {@code
 * /etc/tokengate}) by the laid-out directory. Nothing else is rewritten: the policy's upstream port
 * stays as rendered (the upstream app must get that exact port, or the runner fails with a clear
 * message), because rewriting the rendered configuration would weaken the test.
 */
public final class PodRunner {
  public static final String SIDECAR_CONTAINER = "tokengate-sidecar";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

  private PodRunner() {}

  /** Starts the sidecar of {@code pod} and an upstream app; returns once the sidecar is ready. */
  public static RunningPod start(KubernetesClient client, Pod pod, Path workDir) {
    Container sidecar = sidecarContainer(pod);
    if (sidecar.getCommand() != null && !sidecar.getCommand().isEmpty()) {
      throw new IllegalStateException(
          "the injected sidecar sets command "
              + sidecar.getCommand()
              + ": the contract is args only, the image entrypoint being the sidecar main");
    }
    String namespace = pod.getMetadata().getNamespace();
    VolumeMount mount =
        sidecar.getVolumeMounts().stream()
            .filter(m -> configMapVolume(pod, m.getName()).isPresent())
            .findFirst()
            .orElseThrow(
                () -> new IllegalStateException("the sidecar mounts no ConfigMap volume: " + pod));
    Volume volume = configMapVolume(pod, mount.getName()).orElseThrow();
    String configMapName = volume.getConfigMap().getName();
    ConfigMap configMap = client.configMaps().inNamespace(namespace).withName(configMapName).get();
    if (configMap == null) {
      throw new IllegalStateException(
          "ConfigMap " + namespace + "/" + configMapName + " that the sidecar mounts is missing");
    }

    Path configDir = workDir.resolve("volumes").resolve(volume.getName());
    ConfigMapVolume layout = new ConfigMapVolume(configDir, volume.getConfigMap().getItems());
    layout.write(configMap);

    int upstreamPort = upstreamPort(layout);
    if (!Ports.isFree(upstreamPort)) {
      throw new IllegalStateException(
          "the policy's upstream port 127.0.0.1:"
              + upstreamPort
              + " is taken on this machine; the e2e policy uses an unusual port so that the"
              + " runner need not rewrite the rendered configuration: free that port");
    }
    int listenPort = Ports.free();
    int adminPort = Ports.free();
    List<String> args =
        rewriteArgs(
            sidecar.getArgs(), mount.getMountPath(), configDir.toString(), listenPort, adminPort);

    UpstreamApp upstream = UpstreamApp.start(upstreamPort);
    Path jar =
        Repo.artifact("sidecar/target/tokengate-sidecar.jar", "./mvnw -B package -pl sidecar -am");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(args);
    Path log = workDir.resolve("sidecar.log");
    Process process = Processes.start(command, env(sidecar, pod), workDir, log);
    RunningPod running =
        new RunningPod(
            client, pod, configMapName, layout, process, log, upstream, listenPort, adminPort);
    try {
      running.awaitReady(READY_TIMEOUT);
    } catch (RuntimeException e) {
      running.close();
      throw e;
    }
    return running;
  }

  static Container sidecarContainer(Pod pod) {
    return Stream.concat(
            Optional.ofNullable(pod.getSpec().getInitContainers()).stream().flatMap(List::stream),
            pod.getSpec().getContainers().stream())
        .filter(c -> SIDECAR_CONTAINER.equals(c.getName()))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "pod " + pod.getMetadata().getName() + " has no " + SIDECAR_CONTAINER));
  }

  /** The args with the mount path and the two ports replaced (see the class comment). */
  static List<String> rewriteArgs(
      List<String> args, String mountPath, String dir, int listenPort, int adminPort) {
    List<String> out = new ArrayList<>();
    boolean sawListen = false;
    boolean sawAdmin = false;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("--listen-port") || arg.equals("--admin-port")) {
        boolean listen = arg.equals("--listen-port");
        sawListen |= listen;
        sawAdmin |= !listen;
        out.add(arg);
        i++;
        out.add(Integer.toString(listen ? listenPort : adminPort));
      } else if (arg.startsWith("--listen-port=")) {
        sawListen = true;
        out.add("--listen-port=" + listenPort);
      } else if (arg.startsWith("--admin-port=")) {
        sawAdmin = true;
        out.add("--admin-port=" + adminPort);
      } else {
        out.add(
            arg.equals(mountPath) || arg.startsWith(mountPath + "/")
                ? dir + arg.substring(mountPath.length())
                : arg.replace("=" + mountPath, "=" + dir));
      }
    }
    if (!sawListen || !sawAdmin) {
      throw new IllegalStateException(
          "the sidecar's args " + args + " do not name --listen-port and --admin-port");
    }
    return out;
  }

  private static Optional<Volume> configMapVolume(Pod pod, String name) {
    return Optional.ofNullable(pod.getSpec().getVolumes()).stream()
        .flatMap(List::stream)
        .filter(v -> v.getName().equals(name) && v.getConfigMap() != null)
        .findFirst();
  }

  private static int upstreamPort(ConfigMapVolume layout) {
    for (Map.Entry<String, String> file : layout.read().entrySet()) {
      if (!file.getKey().endsWith(".yaml")) {
        continue;
      }
      for (HasMetadata resource : ResourceReader.read(file.getKey(), file.getValue())) {
        if (resource instanceof ApiPolicy policy) {
          return policy.getSpec().upstream.port;
        }
      }
    }
    throw new IllegalStateException("no ApiPolicy document in " + layout.dir());
  }

  /** The container's env as a kubelet resolves it (plain values and the pod's own fields). */
  private static Map<String, String> env(Container container, Pod pod) {
    Map<String, String> env = new LinkedHashMap<>();
    if (container.getEnv() == null) {
      return env;
    }
    for (EnvVar var : container.getEnv()) {
      if (var.getValue() != null) {
        env.put(var.getName(), var.getValue());
      } else if (var.getValueFrom() != null && var.getValueFrom().getFieldRef() != null) {
        String field = var.getValueFrom().getFieldRef().getFieldPath();
        String value =
            switch (field) {
              case "metadata.name" -> pod.getMetadata().getName();
              case "metadata.namespace" -> pod.getMetadata().getNamespace();
              case "status.podIP", "status.hostIP" -> "127.0.0.1";
              case "spec.nodeName" -> "localhost";
              default -> null;
            };
        if (value != null) {
          env.put(var.getName(), value);
        }
      }
    }
    return env;
  }

  /** A running sidecar and its upstream app. */
  public static final class RunningPod implements AutoCloseable {
    private final KubernetesClient client;
    private final Pod pod;
    private final String configMapName;
    private final ConfigMapVolume volume;
    private final Process process;
    private final Path log;
    private final UpstreamApp upstream;
    private final int listenPort;
    private final int adminPort;
    private final HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    RunningPod(
        KubernetesClient client,
        Pod pod,
        String configMapName,
        ConfigMapVolume volume,
        Process process,
        Path log,
        UpstreamApp upstream,
        int listenPort,
        int adminPort) {
      this.client = client;
      this.pod = pod;
      this.configMapName = configMapName;
      this.volume = volume;
      this.process = process;
      this.log = log;
      this.upstream = upstream;
      this.listenPort = listenPort;
      this.adminPort = adminPort;
    }

    /** Sends {@code GET path} to the sidecar's listen port, with a bearer token unless null. */
    public HttpResponse<String> get(String path, String bearer) {
      return send("GET", path, bearer, Map.of());
    }

    public HttpResponse<String> send(
        String method, String path, String bearer, Map<String, String> headers) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + listenPort + path))
              .timeout(Duration.ofSeconds(30))
              .method(method, HttpRequest.BodyPublishers.noBody());
      if (bearer != null) {
        request.header("Authorization", "Bearer " + bearer);
      }
      headers.forEach(request::header);
      try {
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(
            method + " " + path + " to the sidecar failed; its log:\n" + tail(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /** GET on the admin port (e.g. {@code /healthz/ready}, {@code /metrics}). */
    public HttpResponse<String> admin(String path) {
      try {
        return http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /**
     * Writes the ConfigMap's current data as a new revision (the kubelet's periodic sync); returns
     * the ConfigMap's resourceVersion that was laid out.
     */
    public String resync() {
      ConfigMap current =
          client
              .configMaps()
              .inNamespace(pod.getMetadata().getNamespace())
              .withName(configMapName)
              .get();
      volume.write(current);
      return current.getMetadata().getResourceVersion();
    }

    /** The files the sidecar currently sees. */
    public Map<String, String> files() {
      return volume.read();
    }

    /** Whether the sidecar process is still the one started (no restart happened). */
    public long pid() {
      return process.pid();
    }

    public boolean isAlive() {
      return process.isAlive();
    }

    public UpstreamApp upstream() {
      return upstream;
    }

    public Pod pod() {
      return pod;
    }

    public Path log() {
      return log;
    }

    public String tail() {
      return Processes.tail(log, 80);
    }

    void awaitReady(Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException(
              "the sidecar exited with " + process.exitValue() + "; its log:\n" + tail());
        }
        try {
          if (admin("/healthz/ready").statusCode() == 200) {
            return;
          }
        } catch (RuntimeException notYet) {
          // not listening yet
        }
        try {
          Thread.sleep(250);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      throw new IllegalStateException(
          "the sidecar was not ready within " + timeout + "; its log:\n" + tail());
    }

    @Override
    public void close() {
      Processes.stopTree(process, Duration.ofSeconds(30));
      upstream.close();
    }
  }
}
