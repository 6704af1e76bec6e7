package io.tokengate.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicySpec;
import io.tokengate.api.v1alpha1.apipolicy.Upstream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PodCensusTest {

  @Test
  void countsMatchedInjectedAndUninjectedPods() {
    ApiPolicy policy = policy("p", "2026-01-01T00:00:00Z", Map.of("app", "a"));
    List<Pod> pods =
        List.of(
            pod(
                "injected",
                Map.of("app", "a"),
                Map.of("tokengate.io/policy", "p", "tokengate.io/config-hash", "sha256:1")),
            pod("plain", Map.of("app", "a"), Map.of()),
            pod("opted-out", Map.of("app", "a"), Map.of("tokengate.io/inject", "false")),
            pod("other-app", Map.of("app", "b"), Map.of()),
            pod(
                "moved-away",
                Map.of("app", "b"),
                Map.of("tokengate.io/policy", "p", "tokengate.io/config-hash", "sha256:1")));
    PodCensus census = PodCensus.take(policy, pods, List.of(policy));
    assertThat(census.matched()).isEqualTo(3);
    assertThat(census.injected()).isEqualTo(1);
    assertThat(census.uninjected()).as("the opted-out pod is excluded instead").isEqualTo(1);
    assertThat(census.excluded())
        .containsExactly(Map.entry(PodCensus.Exclusion.OPTED_OUT, List.of("opted-out")));
    assertThat(census.injectedAnywhere()).isEqualTo(2);
    assertThat(census.pods()).isEqualTo("1/3");
    assertThat(census.lostTo()).isEmpty();
  }

  @Test
  void podsARestartWouldNotProtectAreCountedApartByCause() {
    ApiPolicy policy = policy("p", "2026-01-01T00:00:00Z", Map.of("app", "a"));
    List<Pod> pods =
        List.of(
            pod("plain", Map.of("app", "a"), Map.of()),
            pod("label-opt-out", Map.of("app", "a", "tokengate.io/inject", "false"), Map.of()),
            pod("node-net", Map.of("app", "a"), Map.of("tokengate.io/not-injected", "HostNetwork")),
            pod(
                "declined-opt-out",
                Map.of("app", "a"),
                Map.of("tokengate.io/not-injected", "OptedOut")),
            pod(
                "injected",
                Map.of("app", "a"),
                Map.of("tokengate.io/policy", "p", "tokengate.io/config-hash", "sha256:1")));
    PodCensus enabled = PodCensus.take(policy, pods, List.of(policy), true);
    assertThat(enabled.uninjected()).isEqualTo(1);
    assertThat(enabled.excludedCount()).isEqualTo(3);
    assertThat(enabled.excluded())
        .containsExactly(
            Map.entry(PodCensus.Exclusion.OPTED_OUT, List.of("declined-opt-out", "label-opt-out")),
            Map.entry(PodCensus.Exclusion.HOST_NETWORK, List.of("node-net")));

    // Without the namespace's injection label no restart helps: the webhook never sees the pods.
    PodCensus disabled = PodCensus.take(policy, pods, List.of(policy), false);
    assertThat(disabled.uninjected()).isZero();
    assertThat(disabled.injected()).isEqualTo(1);
    assertThat(disabled.excluded())
        .containsEntry(PodCensus.Exclusion.NAMESPACE_NOT_ENABLED, List.of("plain"))
        .containsEntry(PodCensus.Exclusion.HOST_NETWORK, List.of("node-net"));
    assertThat(disabled.excludedCount()).isEqualTo(4);
  }

  @Test
  void theOlderPolicyWinsAndTheNameBreaksTies() {
    ApiPolicy old = policy("zeta", "2026-01-01T00:00:00Z", Map.of("app", "a"));
    ApiPolicy sameAgeFirstName = policy("alpha", "2026-01-01T00:00:00Z", Map.of("app", "a"));
    ApiPolicy young = policy("young", "2026-02-01T00:00:00Z", Map.of("app", "a"));
    List<Pod> pods = List.of(pod("p1", Map.of("app", "a"), Map.of()));
    List<ApiPolicy> all = List.of(old, sameAgeFirstName, young);

    assertThat(PodCensus.take(young, pods, all).lostTo()).containsOnlyKeys("alpha");
    assertThat(PodCensus.take(old, pods, all).lostTo()).containsOnlyKeys("alpha");
    PodCensus winner = PodCensus.take(sameAgeFirstName, pods, all);
    assertThat(winner.lostTo()).isEmpty();
    assertThat(winner.overlapping()).containsExactly("young", "zeta");
  }

  @Test
  void aPolicyBeingDeletedNoLongerWins() {
    ApiPolicy leaving = policy("leaving", "2026-01-01T00:00:00Z", Map.of("app", "a"));
    leaving.getMetadata().setDeletionTimestamp("2026-03-01T00:00:00Z");
    ApiPolicy staying = policy("staying", "2026-02-01T00:00:00Z", Map.of("app", "a"));
    List<Pod> pods = List.of(pod("p1", Map.of("app", "a"), Map.of()));
    assertThat(PodCensus.take(staying, pods, List.of(leaving, staying)).lostTo()).isEmpty();
  }

  @Test
  void servicesTargetingTheAppPortByNumberAreABypass() {
    ApiPolicy policy = policy("p", "2026-01-01T00:00:00Z", Map.of("app", "a"));
    List<Service> services =
        List.of(
            service("by-number", Map.of("app", "a"), 80, new IntOrString(8080)),
            service("by-name", Map.of("app", "a"), 80, new IntOrString("http")),
            service("unset-target", Map.of("app", "a"), 8080, null),
            service("numeric-string", Map.of("app", "a"), 80, new IntOrString("8080")),
            service("other-pods", Map.of("app", "b"), 80, new IntOrString(8080)),
            service("other-port", Map.of("app", "a"), 80, new IntOrString(9090)),
            service("renamed", Map.of("app", "a"), 80, new IntOrString("app-8080")),
            service("renamed-2", Map.of("app", "a"), 81, new IntOrString("app-8080-2")),
            service("lookalike", Map.of("app", "a"), 82, new IntOrString("app-80800")));
    var found = BypassRisk.find(policy, services, List.of(Map.of("app", "a", "tier", "web")));
    assertThat(found.byNumber())
        .containsExactly(
            "by-number (port 80 -> 8080)",
            "numeric-string (port 80 -> 8080)",
            "unset-target (port 8080 -> 8080)");
    assertThat(found.byRenamedName())
        .containsExactly("renamed (port 80 -> app-8080)", "renamed-2 (port 81 -> app-8080-2)");
  }

  @Test
  void labelSelectorsFollowKubernetesSemantics() {
    var selector =
        new LabelSelectorBuilder()
            .withMatchLabels(Map.of("app", "a"))
            .addNewMatchExpression()
            .withKey("tier")
            .withOperator("In")
            .withValues("web", "api")
            .endMatchExpression()
            .addNewMatchExpression()
            .withKey("canary")
            .withOperator("DoesNotExist")
            .endMatchExpression()
            .build();
    assertThat(PodSelection.matches(selector, Map.of("app", "a", "tier", "web"))).isTrue();
    assertThat(PodSelection.matches(selector, Map.of("app", "a", "tier", "db"))).isFalse();
    assertThat(PodSelection.matches(selector, Map.of("app", "a", "tier", "web", "canary", "1")))
        .isFalse();
    assertThat(PodSelection.matches(new LabelSelectorBuilder().build(), Map.of("app", "a")))
        .as("an empty selector selects every pod")
        .isTrue();
    assertThat(PodSelection.matches(new LabelSelectorBuilder().build(), null)).isTrue();
    assertThat(PodSelection.matches(null, Map.of("app", "a"))).isFalse();
  }

  @Test
  void aNarrowerPolicyWinsOverTheOlderNamespaceDefaultWithoutConflict() {
    ApiPolicy fallback = policy("default", "2026-01-01T00:00:00Z", Map.of());
    ApiPolicy orders = policy("orders", "2026-02-01T00:00:00Z", Map.of("app", "orders"));
    List<Pod> pods =
        List.of(
            pod("orders-1", Map.of("app", "orders"), Map.of()),
            pod("cart-1", Map.of("app", "cart"), Map.of()),
            pod("unlabelled", Map.of(), Map.of()));
    List<ApiPolicy> all = List.of(fallback, orders);

    PodCensus narrow = PodCensus.take(orders, pods, all);
    assertThat(narrow.matched()).isEqualTo(1);
    assertThat(narrow.lostTo()).as("the default never wins over a selector").isEmpty();
    assertThat(narrow.overlapping()).as("a default is no rival").isEmpty();

    PodCensus wide = PodCensus.take(fallback, pods, all);
    assertThat(wide.matched()).as("every pod but the one orders selects").isEqualTo(2);
    assertThat(wide.uninjected()).isEqualTo(2);
    assertThat(wide.lostTo()).isEmpty();
    assertThat(wide.overlapping()).isEmpty();
    assertThat(PolicyPrecedence.selecting(all, Map.of("app", "orders")))
        .extracting(p -> p.getMetadata().getName())
        .containsExactly("orders", "default");
    assertThat(PolicyPrecedence.selecting(all, Map.of("app", "cart")))
        .extracting(p -> p.getMetadata().getName())
        .containsExactly("default");
  }

  @Test
  void twoNamespaceDefaultsConflictAndTheOlderWins() {
    ApiPolicy older = policy("b-default", "2026-01-01T00:00:00Z", Map.of());
    ApiPolicy newer = policy("a-default", "2026-02-01T00:00:00Z", Map.of());
    ApiPolicy orders = policy("orders", "2026-03-01T00:00:00Z", Map.of("app", "orders"));
    List<Pod> pods =
        List.of(
            pod("cart-1", Map.of("app", "cart"), Map.of()),
            pod("orders-1", Map.of("app", "orders"), Map.of()));
    List<ApiPolicy> all = List.of(older, newer, orders);

    PodCensus lost = PodCensus.take(newer, pods, all);
    assertThat(lost.lostTo()).containsExactly(Map.entry("b-default", List.of("cart-1")));
    assertThat(lost.overlapping()).containsExactly("b-default");
    PodCensus won = PodCensus.take(older, pods, all);
    assertThat(won.lostTo()).isEmpty();
    assertThat(won.overlapping()).containsExactly("a-default");
    assertThat(PodCensus.take(orders, pods, all).lostTo()).isEmpty();
  }

  private static ApiPolicy policy(String name, String created, Map<String, String> labels) {
    ApiPolicy p = new ApiPolicy();
    p.setMetadata(
        new ObjectMetaBuilder()
            .withName(name)
            .withNamespace("ns")
            .withCreationTimestamp(created)
            .build());
    p.setSpec(new ApiPolicySpec());
    p.getSpec().selector = new LabelSelectorBuilder().withMatchLabels(labels).build();
    p.getSpec().upstream = new Upstream(8080);
    return p;
  }

  private static Pod pod(String name, Map<String, String> labels, Map<String, String> annotations) {
    return new PodBuilder()
        .withMetadata(
            new ObjectMetaBuilder()
                .withName(name)
                .withNamespace("ns")
                .withLabels(labels)
                .withAnnotations(annotations)
                .build())
        .build();
  }

  private static Service service(
      String name, Map<String, String> selector, int port, IntOrString target) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("ns")
        .endMetadata()
        .withNewSpec()
        .withSelector(selector)
        .addNewPort()
        .withPort(port)
        .withTargetPort(target)
        .endPort()
        .endSpec()
        .build();
  }
}
