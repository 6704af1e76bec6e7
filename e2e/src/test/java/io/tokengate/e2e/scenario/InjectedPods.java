package io.tokengate.e2e.scenario;

import static io.tokengate.e2e.scenario.UserPathScenario.APP_PORT;
import static io.tokengate.e2e.scenario.UserPathScenario.POLICY;
import static io.tokengate.e2e.scenario.UserPathScenario.SIDECAR;
import static io.tokengate.e2e.scenario.UserPathScenario.SIDECAR_PORT;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.tokengate.api.v1alpha1.ApiGroup;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** What an injected pod of the scenario's workload must look like, admitted and running. */
final class InjectedPods {
  private InjectedPods() {}

  static void assertInjectedAndHealthy(Pod pod) {
    String name = pod.getMetadata().getName();
    assertThat(pod.getStatus().getPhase()).as(name).isEqualTo("Running");
    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry(ApiGroup.POLICY_ANNOTATION, POLICY)
        .containsKey(ApiGroup.CONFIG_HASH_ANNOTATION);
    ContainerStatus sidecar = sidecarStatus(pod);
    ContainerStatus app =
        pod.getStatus().getContainerStatuses().stream()
            .filter(s -> s.getName().equals("orders"))
            .findFirst()
            .orElseThrow();
    // READY 2/2: the native sidecar and the app.
    assertThat(sidecar.getReady()).as(name + " sidecar ready").isTrue();
    assertThat(app.getReady()).as(name + " app ready").isTrue();
    assertThat(sidecar.getRestartCount()).as(name + " sidecar restarts").isZero();
    assertThat(app.getRestartCount()).as(name + " app restarts").isZero();
    Instant sidecarStarted = Instant.parse(sidecar.getState().getRunning().getStartedAt());
    Instant appStarted = Instant.parse(app.getState().getRunning().getStartedAt());
    assertThat(sidecarStarted)
        .as(name + ": sidecar started before the app")
        .isBeforeOrEqualTo(appStarted);
  }

  /** The pod as the webhook admitted it: the sidecar contract, the mount, the port takeover. */
  static void assertTheInjectedSpec(Pod pod) {
    Container sidecar =
        Optional.ofNullable(pod.getSpec().getInitContainers()).orElse(List.of()).stream()
            .filter(c -> c.getName().equals(SIDECAR))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no native sidecar in " + pod.getSpec()));
    assertThat(sidecar.getRestartPolicy()).isEqualTo("Always");
    assertThat(sidecar.getArgs())
        .containsExactly(
            "--config",
            "/etc/tokengate",
            "--listen-port",
            Integer.toString(SIDECAR_PORT),
            "--admin-port",
            "7451",
            "--drain-seconds",
            "20",
            "--decision-log-allowed",
            "Sampled");
    assertThat(sidecar.getVolumeMounts())
        .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/etc/tokengate"));
    assertThat(sidecar.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    // The sidecar takes over the app port's name; the app's port is renamed.
    assertThat(sidecar.getPorts())
        .anySatisfy(
            p -> {
              assertThat(p.getName()).isEqualTo("http");
              assertThat(p.getContainerPort()).isEqualTo(SIDECAR_PORT);
            });
    Container app =
        pod.getSpec().getContainers().stream()
            .filter(c -> c.getName().equals("orders"))
            .findFirst()
            .orElseThrow();
    ContainerPort appPort =
        app.getPorts().stream()
            .filter(p -> p.getContainerPort() == APP_PORT)
            .findFirst()
            .orElseThrow();
    assertThat(appPort.getName()).isNotEqualTo("http");
    // The app's readiness probe named "http", now the sidecar's: it is re-pointed at the app,
    // and the pod being Ready shows the kubelet reaches it.
    var probePort = app.getReadinessProbe().getHttpGet().getPort();
    assertThat(
            probePort.getIntVal() != null
                ? probePort.getIntVal().toString()
                : probePort.getStrVal())
        .isIn(Integer.toString(APP_PORT), appPort.getName());
  }

  static ContainerStatus sidecarStatus(Pod pod) {
    return pod.getStatus().getInitContainerStatuses().stream()
        .filter(s -> s.getName().equals(SIDECAR))
        .findFirst()
        .orElseThrow(
            () -> new AssertionError(pod.getMetadata().getName() + " has no native sidecar"));
  }
}
