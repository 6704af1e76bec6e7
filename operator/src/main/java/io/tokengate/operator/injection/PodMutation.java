package io.tokengate.operator.injection;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
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
        new ContainerBuilder(cached.container()).build(), cached.volumes());
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

    addVolumes(spec, sidecarParts.volumes());
    if (nativeSidecar) {
      sidecar.setRestartPolicy("Always");
      List<Container> init =
          new ArrayList<>(Optional.ofNullable(spec.getInitContainers()).orElse(List.of()));
      init.add(0, sidecar);
      spec.setInitContainers(init);
    } else {
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
    return new Result(pod, takeover.warnings());
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

  private static Pod copy(Pod pod) {
    return JSON.convertValue(JSON.valueToTree(pod), Pod.class);
  }
}
