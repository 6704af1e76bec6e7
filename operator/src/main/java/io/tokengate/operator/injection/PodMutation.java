package io.tokengate.operator.injection;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.Interception;
import io.tokengate.api.v1alpha1.tokenissuer.Introspection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Builds the injected pod: the rendered sidecar placed as a native sidecar (the first init
 * container, {@code restartPolicy: Always}) or, on API servers without native sidecars, as the last
 * regular container; the port name taken over; probes rewritten; the template's volumes added; the
 * pod annotated with the policy and the configuration hash it was injected with.
 */
final class PodMutation {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Rendered sidecars per ConfigMap name; bounded, a cluster has one per ApiPolicy. */
  private static final int CACHED = 4096;

  private final SidecarTemplate template;
  private final SidecarSettings settings;
  private final Map<String, SidecarTemplate.Rendered> rendered = new ConcurrentHashMap<>();

  PodMutation(SidecarTemplate template, SidecarSettings settings) {
    this.template = template;
    this.settings = settings;
  }

  /**
   * The sidecar for one policy's ConfigMap, rendered once: the admission path then only copies the
   * container (which it changes) and shares the volumes (which it does not).
   */
  private SidecarTemplate.Rendered render(String configMapName) {
    if (rendered.size() > CACHED) {
      rendered.clear();
    }
    SidecarTemplate.Rendered cached =
        rendered.computeIfAbsent(configMapName, name -> template.render(settings, name));
    return new SidecarTemplate.Rendered(
        new ContainerBuilder(cached.container()).build(),
        cached.volumes(),
        cached.redirectInit() == null ? null : new ContainerBuilder(cached.redirectInit()).build());
  }

  record Result(Pod pod, List<String> warnings) {}

  /** {@code admitted} is left unchanged; the result is a modified copy. */
  Result inject(Pod admitted, ApiPolicy policy, boolean nativeSidecar) {
    Pod pod = copy(admitted);
    PodSpec spec = pod.getSpec();
    SidecarTemplate.Rendered sidecarParts = render(policy.getStatus().configMapName);
    Container sidecar = sidecarParts.container();

    PortTakeover.Result takeover =
        PortTakeover.apply(spec, sidecar, policy.getSpec().upstream.port, settings.listenPort());
    List<ContainerPort> sidecarPorts = new ArrayList<>();
    sidecarPorts.add(takeover.listenPort());
    sidecarPorts.addAll(Optional.ofNullable(sidecar.getPorts()).orElse(List.of()));
    sidecar.setPorts(sidecarPorts);
    takeover
        .renamed()
        .ifPresent(
            renamed ->
                spec.getContainers().stream()
                    .filter(c -> c.getName().equals(renamed.container()))
                    .forEach(c -> ProbeRewriter.rewrite(c, renamed)));
    List<String> warnings = new ArrayList<>(takeover.warnings());
    Interception mode = policy.getSpec().interception;
    int appPort = policy.getSpec().upstream.port;
    if (mode == Interception.Redirect || mode == Interception.Loopback) {
      forwardProbes(spec, sidecar, appPort);
    }
    if (mode == Interception.Loopback) {
      warnings.add(
          ("interception Loopback: the application must listen on 127.0.0.1:%d only (not"
                  + " 0.0.0.0), or clients reach it unchecked on the pod's IP")
              .formatted(appPort));
    }

    List<Volume> volumes = new ArrayList<>(sidecarParts.volumes());
    mountClientSecrets(sidecar, volumes, policy.getStatus().clientSecrets);
    addVolumes(spec, volumes);
    List<Container> init =
        new ArrayList<>(Optional.ofNullable(spec.getInitContainers()).orElse(List.of()));
    if (nativeSidecar) {
      sidecar.setRestartPolicy("Always");
      init.add(0, sidecar);
    }
    if (mode == Interception.Redirect) {
      init.add(0, redirectInit(sidecarParts.redirectInit(), spec, appPort));
    }
    if (!init.isEmpty()) {
      spec.setInitContainers(init);
    }
    if (!nativeSidecar) {
      List<Container> containers = new ArrayList<>(spec.getContainers());
      containers.add(sidecar);
      spec.setContainers(containers);
    }

    Map<String, String> annotations =
        new LinkedHashMap<>(
            Optional.ofNullable(pod.getMetadata().getAnnotations()).orElse(Map.of()));
    annotations.put(ApiGroup.POLICY_ANNOTATION, policy.getMetadata().getName());
    annotations.put(ApiGroup.CONFIG_HASH_ANNOTATION, policy.getStatus().configHash);
    String open = openPorts(spec, sidecar, policy.getSpec().upstream.port);
    if (open.isEmpty()) {
      annotations.remove(ApiGroup.OPEN_PORTS_ANNOTATION);
    } else {
      annotations.put(ApiGroup.OPEN_PORTS_ANNOTATION, open);
    }
    pod.getMetadata().setAnnotations(annotations);
    return new Result(pod, warnings);
  }

  /**
   * Points the application containers' probes of the application port at the sidecar's admin port
   * and hands the originals to the sidecar.
   */
  private void forwardProbes(PodSpec spec, Container sidecar, int appPort) {
    ProbeForwarding forwarding = new ProbeForwarding(appPort, settings.adminPort());
    int grace =
        (int)
            Math.min(
                Integer.MAX_VALUE,
                Optional.ofNullable(spec.getTerminationGracePeriodSeconds()).orElse(30L));
    spec.getContainers().forEach(c -> forwarding.rewrite(c, grace));
    String env = forwarding.sidecarEnv();
    if (env != null) {
      List<EnvVar> vars = new ArrayList<>(Optional.ofNullable(sidecar.getEnv()).orElse(List.of()));
      vars.add(new EnvVar(ProbeForwarding.ENV, env, null));
      sidecar.setEnv(vars);
    }
  }

  /** The init container that redirects the application port to the sidecar's listen port. */
  private Container redirectInit(Container rendered, PodSpec spec, int appPort) {
    if (rendered == null) {
      throw new InjectionRefused(
          "the ApiPolicy asks for interception Redirect but the operator's sidecar template has no"
              + " redirectInit container; use the bundled template or add one");
    }
    boolean taken =
        java.util.stream.Stream.concat(
                Optional.ofNullable(spec.getInitContainers()).orElse(List.of()).stream(),
                spec.getContainers().stream())
            .anyMatch(c -> rendered.getName().equals(c.getName()));
    if (taken) {
      throw new InjectionRefused(
          "the pod already has a container named '%s', the name of tokengate's redirect init container"
              .formatted(rendered.getName()));
    }
    rendered.setArgs(List.of("--redirect", appPort + ":" + settings.listenPort()));
    return rendered;
  }

  /**
   * The pod's declared ports other than the application port and the sidecar's, {@code
   * port/PROTOCOL} sorted and comma-separated: what the policy's NetworkPolicy keeps open.
   */
  static String openPorts(PodSpec spec, Container sidecar, int appPort) {
    Set<Integer> sidecarPorts =
        Optional.ofNullable(sidecar.getPorts()).orElse(List.of()).stream()
            .map(ContainerPort::getContainerPort)
            .collect(Collectors.toSet());
    return java.util.stream.Stream.concat(
            Optional.ofNullable(spec.getInitContainers()).orElse(List.of()).stream(),
            spec.getContainers().stream())
        .filter(c -> c != sidecar)
        .flatMap(c -> Optional.ofNullable(c.getPorts()).orElse(List.of()).stream())
        .filter(p -> p.getContainerPort() != null)
        .filter(
            p -> p.getContainerPort() != appPort && !sidecarPorts.contains(p.getContainerPort()))
        .map(
            p ->
                p.getContainerPort()
                    + "/"
                    + Optional.ofNullable(p.getProtocol()).filter(x -> !x.isBlank()).orElse("TCP"))
        .collect(Collectors.toCollection(java.util.TreeSet::new))
        .stream()
        .collect(Collectors.joining(","));
  }

  /**
   * Mounts each introspection client Secret of the policy read-only into the sidecar only, at
   * {@code /etc/tokengate-secrets/<secret>}: the rendered configuration names the file there, never
   * the secret. Not optional: the kubelet does not start the pod while a Secret is missing.
   */
  private static void mountClientSecrets(
      Container sidecar, List<Volume> volumes, List<String> secrets) {
    if (secrets == null || secrets.isEmpty()) {
      return;
    }
    List<VolumeMount> mounts =
        new ArrayList<>(Optional.ofNullable(sidecar.getVolumeMounts()).orElse(List.of()));
    for (int i = 0; i < secrets.size(); i++) {
      String volume = "tokengate-secret-" + i;
      volumes.add(
          new VolumeBuilder()
              .withName(volume)
              .withNewSecret()
              .withSecretName(secrets.get(i))
              .endSecret()
              .build());
      mounts.add(
          new VolumeMountBuilder()
              .withName(volume)
              .withMountPath(Introspection.SECRETS_DIR + "/" + secrets.get(i))
              .withReadOnly(true)
              .build());
    }
    sidecar.setVolumeMounts(mounts);
  }

  private static void addVolumes(PodSpec spec, List<Volume> volumes) {
    List<Volume> all = new ArrayList<>(Optional.ofNullable(spec.getVolumes()).orElse(List.of()));
    Set<String> existing = all.stream().map(Volume::getName).collect(Collectors.toSet());
    for (Volume volume : volumes) {
      if (existing.contains(volume.getName())) {
        throw new InjectionRefused(
            "the pod already has a volume named '%s', which the tokengate sidecar needs"
                .formatted(volume.getName()));
      }
      all.add(volume);
    }
    spec.setVolumes(all);
  }

  static Pod copy(Pod pod) {
    return JSON.convertValue(JSON.valueToTree(pod), Pod.class);
  }
}
