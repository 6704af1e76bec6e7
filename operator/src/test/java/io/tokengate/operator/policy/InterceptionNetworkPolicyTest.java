package io.tokengate.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.operator.injection.SidecarSettings;
import io.tokengate.operator.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden files: every {@code networkpolicy/X.yaml} (an ApiPolicy, then the pods it injected and the
 * namespace's other ApiPolicies) renders to exactly {@code X.yaml.rendered} with the default
 * sidecar ports. Regenerate with {@code -Dtokengate.golden.update=true}. Whatever the input, the
 * application port is never admitted.
 */
class InterceptionNetworkPolicyTest {
  private static final Path DIR = Paths.get("src/test/resources/networkpolicy");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  static Stream<Path> cases() throws IOException {
    return Files.list(DIR).filter(p -> p.toString().endsWith(".yaml")).sorted();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rendersTheGoldenNetworkPolicy(Path input) throws IOException {
    String[] documents = Files.readString(input).split("(?m)^---\\s*$");
    ApiPolicy policy = (ApiPolicy) ResourceReader.read(input.toString(), documents[0]).get(0);
    List<Pod> pods = new ArrayList<>();
    List<ApiPolicy> policies = new ArrayList<>(List.of(policy));
    for (int i = 1; i < documents.length; i++) {
      if (documents[i].isBlank()) {
        continue;
      }
      if (documents[i].contains("kind: ApiPolicy")) {
        policies.add((ApiPolicy) ResourceReader.read(input.toString(), documents[i]).get(0));
      } else {
        pods.add(SERIALIZATION.unmarshal(documents[i], Pod.class));
      }
    }
    List<Integer> narrowerPorts = InterceptionNetworkPolicy.narrowerAppPorts(policy, policies);
    NetworkPolicy rendered =
        InterceptionNetworkPolicy.desired(
            policy,
            SidecarSettings.DEFAULT_LISTEN_PORT,
            SidecarSettings.DEFAULT_ADMIN_PORT,
            pods,
            narrowerPorts);
    String actual = SERIALIZATION.asYaml(rendered);
    Path golden = Paths.get(input + ".rendered");
    if (Golden.updating() || !Files.exists(golden)) {
      assertThat(Golden.updating())
          .as("%s has no golden file; create it with -D%s=true", input, Golden.UPDATE_FLAG)
          .isTrue();
      Files.writeString(golden, actual);
    }
    assertThat(actual)
        .as("%s is stale; regenerate with -D%s=true", golden, Golden.UPDATE_FLAG)
        .isEqualTo(Files.readString(golden));

    int appPort = policy.getSpec().upstream.port;
    assertThat(rendered.getSpec().getPolicyTypes()).containsExactly("Ingress");
    assertThat(rendered.getSpec().getIngress()).singleElement();
    List<NetworkPolicyPort> ports = rendered.getSpec().getIngress().get(0).getPorts();
    assertThat(ports).isNotEmpty().allSatisfy(p -> assertThat(p.getEndPort()).isNull());
    assertThat(ports).noneSatisfy(p -> assertThat(p.getPort().getIntVal()).isEqualTo(appPort));
    assertThat(ports)
        .as("a namespace default never re-opens a narrower policy's application port")
        .noneSatisfy(p -> assertThat(narrowerPorts).contains(p.getPort().getIntVal()));
    assertThat(ports)
        .extracting(p -> p.getPort().getIntVal())
        .contains(SidecarSettings.DEFAULT_LISTEN_PORT, SidecarSettings.DEFAULT_ADMIN_PORT);
    assertThat(rendered.getSpec().getPodSelector()).isEqualTo(policy.getSpec().selector);
    assertThat(rendered.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(o -> assertThat(o.getController()).isTrue());
  }

  @Test
  void otherNetworkPoliciesThatAdmitTheAppPortAreNamed() {
    ApiPolicy policy =
        (ApiPolicy)
            ResourceReader.read(
                    "p",
                    """
                    apiVersion: tokengate.io/v1alpha1
                    kind: ApiPolicy
                    metadata: {name: orders, namespace: shop}
                    spec:
                      selector: {matchLabels: {app: orders}}
                      issuerRef: {kind: TokenIssuer, name: corp}
                      upstream: {port: 8080}
                    """)
                .get(0);
    List<NetworkPolicy> nps =
        List.of(
            np("allow-all", Map.of(), null, null, null),
            np("allow-8080", Map.of("app", "orders"), 8080, null, "TCP"),
            np("allow-range", Map.of("app", "orders"), 8000, 9000, null),
            np("allow-renamed", Map.of("app", "orders"), "app-8080"),
            np("allow-9090", Map.of("app", "orders"), 9090, null, null),
            np("allow-8080-udp", Map.of("app", "orders"), 8080, null, "UDP"),
            np("other-pods", Map.of("app", "billing"), 8080, null, null),
            np("tokengate-orders", Map.of("app", "orders"), 8080, null, null));
    assertThat(
            NetworkPolicyBypass.find(
                policy, nps, List.of(Map.of("app", "orders", "pod-template-hash", "x"))))
        .containsExactly(
            "allow-8080 (admits port 8080)",
            "allow-all (admits every port)",
            "allow-range (admits port 8000-9000)",
            "allow-renamed (admits port app-8080)");
  }

  private static NetworkPolicy np(
      String name, Map<String, String> labels, Integer port, Integer endPort, String protocol) {
    var builder =
        new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace("shop")
            .endMetadata()
            .withNewSpec()
            .withNewPodSelector()
            .withMatchLabels(labels)
            .endPodSelector();
    if (port == null) {
      return builder.addNewIngress().endIngress().endSpec().build();
    }
    return builder
        .addNewIngress()
        .addNewPort()
        .withPort(new IntOrString(port))
        .withEndPort(endPort)
        .withProtocol(protocol)
        .endPort()
        .endIngress()
        .endSpec()
        .build();
  }

  private static NetworkPolicy np(String name, Map<String, String> labels, String portName) {
    return new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("shop")
        .endMetadata()
        .withNewSpec()
        .withNewPodSelector()
        .withMatchLabels(labels)
        .endPodSelector()
        .addNewIngress()
        .addNewPort()
        .withPort(new IntOrString(portName))
        .endPort()
        .endIngress()
        .endSpec()
        .build();
  }
}
