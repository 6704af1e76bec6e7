package io.tokengate.operator.policy;

import static io.tokengate.operator.testing.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicySpec;
import io.tokengate.api.v1alpha1.apipolicy.Interception;
import io.tokengate.api.v1alpha1.apipolicy.IssuerRef;
import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import io.tokengate.api.v1alpha1.apipolicy.Upstream;
import io.tokengate.api.v1alpha1.tokenissuer.ClientSecretRef;
import io.tokengate.api.v1alpha1.tokenissuer.Introspection;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.operator.status.StatusConditions;
import io.tokengate.operator.testing.RunningOperator;
import io.tokengate.operator.testing.TestApiServer;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ApiPolicy reconciler against a Kubernetes API (real kube-apiserver when present, else the
 * mock server) with a real OpenID Connect issuer on loopback. Pods are plain objects: no kubelet.
 */
class ApiPolicyReconcilerIT {
  private static TestApiServer api;
  private static KubernetesClient client;
  private static String namespace;
  // A namespace of its own: a default policy there covers every pod of its namespace.
  private static String defaults;
  // Namespaces of their own: Events counted per policy, and a namespace being deleted.
  private static String events;
  private static String ending;
  private static RunningOperator operator;
  private static TestIssuer idp;

  @BeforeAll
  static void start() {
    api = TestApiServer.shared();
    // The reconcilers patch status with server-side apply and use a Lease; the fabric8 mock
    // server implements neither faithfully, so these tests need the real kube-apiserver.
    assumeThat(api.isReal())
        .as("reconciler tests need a real kube-apiserver; running on " + api.description())
        .isTrue();
    client = api.client();
    namespace = api.newNamespace("policies");
    defaults = api.newNamespace("defaults");
    events = api.newNamespace("events");
    ending = api.newNamespace("ending");
    for (String ns : List.of(namespace, defaults, events, ending)) {
      labelForInjection(ns);
    }
    idp = TestIssuer.builder().key(SigningKey.rsa("rsa-1")).key(SigningKey.ec("ec-1")).start();
    operator =
        RunningOperator.start(
            client,
            Map.of(
                "tokengate.watched-namespaces",
                String.join(",", namespace, defaults, events, ending),
                "tokengate.operator-namespace",
                namespace,
                "tokengate.issuers.max-retry-interval",
                "2s"));
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.close();
    }
    if (idp != null) {
      idp.close();
    }
  }

  @Test
  void rendersTheConfigurationOnceTheIssuerExistsAndReRendersOnRotation() {
    create(policy("orders", "corp", Map.of("app", "orders")));
    eventually(
        () -> {
          Condition c = condition("orders", Conditions.ISSUER_RESOLVED);
          assertThat(c.getStatus()).isEqualTo("False");
          assertThat(c.getReason()).isEqualTo(Reasons.ISSUER_NOT_FOUND);
          assertThat(c.getMessage()).contains("TokenIssuer " + namespace + "/corp does not exist");
          assertThat(condition("orders", Conditions.READY).getStatus()).isEqualTo("False");
        });

    client.resource(issuer("corp", "1s")).create();
    eventually(
        () -> {
          assertThat(condition("orders", Conditions.READY).getStatus()).isEqualTo("True");
          assertThat(condition("orders", Conditions.ISSUER_RESOLVED).getReason())
              .isEqualTo(Reasons.ISSUER_FOUND);
        });
    ApiPolicy ready = get("orders");
    assertThat(ready.getStatus().observedGeneration).isEqualTo(1L);
    assertThat(ready.getStatus().issuer).isEqualTo(idp.issuer());
    assertThat(ready.getStatus().configMapName).isEqualTo("tokengate-orders");
    ConfigMap cm = configMap("orders");
    assertThat(cm.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(
            o -> {
              assertThat(o.getUid()).isEqualTo(ready.getMetadata().getUid());
              assertThat(o.getController()).isTrue();
            });
    assertThat(cm.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "tokengate")
        .containsEntry(ApiGroup.POLICY_ANNOTATION, "orders");
    assertThat(ready.getStatus().configHash)
        .isEqualTo(SidecarConfigRenderer.configHash(cm.getData()));
    assertThat(ResourceReader.read("policy.yaml", cm.getData().get("policy.yaml")))
        .singleElement()
        .isInstanceOf(ApiPolicy.class);
    assertThat(ResourceReader.read("issuer.yaml", cm.getData().get("issuer.yaml")))
        .singleElement()
        .isInstanceOf(TokenIssuer.class);
    assertThat(cm.getData().get("corp.jwks.json"))
        .contains(idp.keyIds().get(0))
        .doesNotContain("\"d\"");

    List<String> rotated = idp.replaceAllKeys();
    eventually(
        () -> {
          ConfigMap now = configMap("orders");
          assertThat(now.getData().get("corp.jwks.json")).contains(rotated.get(0), rotated.get(1));
          assertThat(get("orders").getStatus().configHash)
              .isNotEqualTo(ready.getStatus().configHash)
              .isEqualTo(SidecarConfigRenderer.configHash(now.getData()));
        });
  }

  @Test
  void aPolicyOfSeveralIssuersServesWithTheReadyOnesAndNamesTheOthers() throws Exception {
    try (TestIssuer partnerIdp = TestIssuer.start()) {
      client.resource(issuer("corp-m", "1s")).create();
      TokenIssuer partner = issuer("partner-m", "1s");
      partner.getSpec().issuer = partnerIdp.issuer();
      client.resource(partner).create();
      ApiPolicy multi = policy("multi", "unused", Map.of("app", "multi"));
      multi.getSpec().issuerRef = null;
      multi.getSpec().issuerRefs =
          List.of(
              new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, "corp-m"),
              new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, "partner-m"),
              new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, "dead-m"));
      create(multi);
      eventually(
          () -> {
            Condition c = condition("multi", Conditions.ISSUER_RESOLVED);
            assertThat(c.getStatus()).isEqualTo("False");
            assertThat(c.getReason()).isEqualTo(Reasons.ISSUER_NOT_FOUND);
            assertThat(c.getMessage())
                .contains("spec.issuerRefs[2]: TokenIssuer " + namespace + "/dead-m does not exist")
                .doesNotContain("corp-m")
                .doesNotContain("partner-m");
            assertThat(condition("multi", Conditions.READY).getStatus()).isEqualTo("False");
          });
      assertThat(client.configMaps().inNamespace(namespace).withName("tokengate-multi").get())
          .isNull();

      // The third issuer exists but its IdP is unreachable: the other two keep the policy serving.
      TokenIssuer dead = issuer("dead-m", "1s");
      int closed;
      try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
        closed = s.getLocalPort();
      }
      dead.getSpec().issuer = "http://127.0.0.1:" + closed + "/realms/dead";
      client.resource(dead).create();
      eventually(
          () -> {
            Condition resolved = condition("multi", Conditions.ISSUER_RESOLVED);
            assertThat(resolved.getStatus()).isEqualTo("False");
            assertThat(resolved.getReason()).isEqualTo(Reasons.SOME_ISSUERS_NOT_READY);
            assertThat(resolved.getMessage()).contains("dead-m").doesNotContain("corp-m");
            Condition ready = condition("multi", Conditions.READY);
            assertThat(ready.getStatus()).isEqualTo("True");
            assertThat(ready.getReason()).isEqualTo(Reasons.SOME_ISSUERS_NOT_READY);
          });
      ConfigMap cm = configMap("multi");
      assertThat(cm.getData())
          .containsKeys(
              "policy.yaml",
              "issuer-tokenissuer-corp-m.yaml",
              "issuer-tokenissuer-partner-m.yaml",
              "issuer-tokenissuer-dead-m.yaml",
              "corp-m.jwks.json",
              "partner-m.jwks.json")
          .doesNotContainKeys("issuer.yaml", "dead-m.jwks.json");
      assertThat(cm.getData().get("partner-m.jwks.json")).contains(partnerIdp.keyIds().get(0));
      assertThat(get("multi").getStatus().issuer)
          .contains(idp.issuer())
          .contains(partnerIdp.issuer());

      // Two references to issuers with one identifier cannot be told apart: refused on the status.
      TokenIssuer twin = issuer("twin-m", "1s");
      client.resource(twin).create();
      ApiPolicy twins = policy("twins", "unused", Map.of("app", "twins"));
      twins.getSpec().issuerRef = null;
      twins.getSpec().issuerRefs =
          List.of(
              new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, "corp-m"),
              new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, "twin-m"));
      create(twins);
      eventually(
          () -> {
            Condition ready = condition("twins", Conditions.READY);
            assertThat(ready.getStatus()).isEqualTo("False");
            assertThat(ready.getReason()).isEqualTo(Reasons.INVALID_SPEC);
            assertThat(ready.getMessage()).contains("corp-m and twin-m have the same spec.issuer");
          });

      // A multi-tenant Entra issuer and a single tenant of it would both take that tenant's
      // tokens: refused the same way.
      TokenIssuer orgs = issuer("entra-orgs-m", "1m");
      orgs.getSpec().issuer = "https://login.microsoftonline.com/organizations/v2.0";
      orgs.getSpec().tenants = List.of("*");
      orgs.getSpec().discovery = false;
      orgs.getSpec().jwksUri = idp.jwksUri();
      client.resource(orgs).create();
      TokenIssuer oneTenant = issuer("entra-tenant-m", "1m");
      oneTenant.getSpec().issuer =
          "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
      oneTenant.getSpec().discovery = false;
      oneTenant.getSpec().jwksUri = idp.jwksUri();
      client.resource(oneTenant).create();
      ApiPolicy tenants = policy("tenants", "unused", Map.of("app", "tenants"));
      tenants.getSpec().issuerRef = null;
      tenants.getSpec().issuerRefs =
          List.of(
              new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, "entra-orgs-m"),
              new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, "entra-tenant-m"));
      create(tenants);
      eventually(
          () -> {
            Condition ready = condition("tenants", Conditions.READY);
            assertThat(ready.getStatus()).isEqualTo("False");
            assertThat(ready.getReason()).isEqualTo(Reasons.INVALID_SPEC);
            assertThat(ready.getMessage())
                .contains(
                    "entra-orgs-m and entra-tenant-m accept tokens of the same iss (a tenant of"
                        + " https://login.microsoftonline.com/{tenantid}/v2.0)");
          });

      // Without the dead issuer every reference resolves.
      ApiPolicy edited = get("multi");
      edited.getSpec().issuerRefs = edited.getSpec().issuerRefs.subList(0, 2);
      client.resource(edited).update();
      eventually(
          () -> {
            Condition resolved = condition("multi", Conditions.ISSUER_RESOLVED);
            assertThat(resolved.getStatus()).isEqualTo("True");
            assertThat(resolved.getReason()).isEqualTo(Reasons.ISSUER_FOUND);
            assertThat(resolved.getMessage()).isEqualTo("all 2 issuers are ready with their keys");
            assertThat(configMap("multi").getData())
                .doesNotContainKey("issuer-tokenissuer-dead-m.yaml");
          });
    }
  }

  @Test
  void anIntrospectionClientSecretIsReportedWhenMissingAndOnlyItsPathIsRendered() {
    String endpoint = idp.issuer() + "/introspect";
    TokenIssuer introspecting = issuer("introspecting", "1m");
    introspecting.getSpec().introspection = new Introspection();
    introspecting.getSpec().introspection.clientId = "orders-gate";
    introspecting.getSpec().introspection.endpoint = endpoint;
    introspecting.getSpec().introspection.clientSecretRef = new ClientSecretRef();
    introspecting.getSpec().introspection.clientSecretRef.name = "gate-introspection";
    client.resource(introspecting).create();
    create(policy("introspected", "introspecting", Map.of("app", "introspected")));
    eventually(
        () -> {
          Condition c = condition("introspected", Conditions.ISSUER_RESOLVED);
          assertThat(c.getStatus()).isEqualTo("False");
          assertThat(c.getReason()).isEqualTo(Reasons.CLIENT_SECRET_MISSING);
          assertThat(c.getMessage())
              .contains("Secret " + namespace + "/gate-introspection")
              .contains("does not exist");
          assertThat(condition("introspected", Conditions.READY).getStatus()).isEqualTo("False");
          assertThat(get("introspected").getStatus().configHash).isNull();
        });
    assertThat(
            client
                .resources(TokenIssuer.class)
                .inNamespace(namespace)
                .withName("introspecting")
                .get()
                .getStatus()
                .introspectionEndpoint)
        .isEqualTo(endpoint);

    String secretValue = "s3cr3t-" + java.util.UUID.randomUUID();
    client
        .resource(
            new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata()
                .withName("gate-introspection")
                .withNamespace(namespace)
                .endMetadata()
                .withStringData(Map.of("client-secret", secretValue))
                .build())
        .create();
    eventually(
        () -> {
          assertThat(condition("introspected", Conditions.READY).getStatus()).isEqualTo("True");
          assertThat(get("introspected").getStatus().clientSecrets)
              .containsExactly("gate-introspection");
        });
    String issuerYaml = configMap("introspected").getData().get("issuer.yaml");
    assertThat(issuerYaml)
        .contains("clientSecretFile: /etc/tokengate-secrets/gate-introspection/client-secret")
        .contains("endpoint: " + endpoint)
        .doesNotContain("clientSecretRef")
        .doesNotContain(secretValue);
  }

  @Test
  void countsPodsFromMetadataAndReportsConflictsAndBypasses() {
    client.resource(issuer("shared", "10m")).create();
    create(policy("older", "shared", Map.of("app", "shop")));
    eventually(() -> assertThat(get("older").getStatus()).isNotNull());
    sleepASecond(); // distinct creationTimestamps (second resolution)
    create(policy("newer", "shared", Map.of("app", "shop", "tier", "web")));

    createPod("web-1", Map.of("app", "shop", "tier", "web"), "older");
    createPod("web-2", Map.of("app", "shop", "tier", "web"), null);
    createPod("api-1", Map.of("app", "shop"), null);
    client
        .resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withName("shop-direct")
                .withNamespace(namespace)
                .endMetadata()
                .withNewSpec()
                .withSelector(Map.of("app", "shop"))
                .addNewPort()
                .withPort(80)
                .withTargetPort(new IntOrString(8080))
                .endPort()
                .endSpec()
                .build())
        .create();
    client
        .resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withName("shop-named")
                .withNamespace(namespace)
                .endMetadata()
                .withNewSpec()
                .withSelector(Map.of("app", "shop"))
                .addNewPort()
                .withPort(80)
                .withTargetPort(new IntOrString("http"))
                .endPort()
                .endSpec()
                .build())
        .create();

    eventually(
        () -> {
          var s = get("older").getStatus();
          assertThat(s.matchedPods).isEqualTo(3);
          assertThat(s.injectedPods).isEqualTo(1);
          assertThat(s.uninjectedPods).isEqualTo(2);
          assertThat(s.pods).isEqualTo("1/3");
          assertThat(condition("older", Conditions.CONFLICT).getStatus()).isEqualTo("False");
          Condition bypass = condition("older", Conditions.BYPASS_RISK);
          assertThat(bypass.getStatus()).isEqualTo("True");
          assertThat(bypass.getReason()).isEqualTo(Reasons.SERVICE_TARGETS_PORT_NUMBER);
          assertThat(bypass.getMessage())
              .contains("shop-direct (port 80 -> 8080)")
              .doesNotContain("shop-named");
        });
    eventually(
        () -> {
          Condition conflict = condition("newer", Conditions.CONFLICT);
          assertThat(conflict.getStatus()).isEqualTo("True");
          assertThat(conflict.getReason()).isEqualTo(Reasons.OVERLAPPING_POLICY);
          assertThat(conflict.getMessage()).contains("ApiPolicy older protects web-1, web-2");
          assertThat(get("newer").getStatus().matchedPods).isEqualTo(2);
        });

    // The older policy goes (no pod runs its sidecar after web-1 is gone): the newer one wins.
    client.pods().inNamespace(namespace).withName("web-1").withGracePeriod(0).delete();
    client.resources(ApiPolicy.class).inNamespace(namespace).withName("older").delete();
    eventually(
        () -> assertThat(condition("newer", Conditions.CONFLICT).getStatus()).isEqualTo("False"));
  }

  @Test
  void aNamespaceDefaultCoversThePodsNoNarrowerPolicySelects() {
    TokenIssuer issuer = issuer("defaults-idp", "10m");
    issuer.getMetadata().setNamespace(defaults);
    client.resource(issuer).create();
    ApiPolicy fallback = policy("shop-default", "defaults-idp", Map.of());
    fallback.getMetadata().setNamespace(defaults);
    fallback.getSpec().allowedPorts = List.of(9100);
    create(fallback);
    eventually(() -> assertThat(in(defaults, "shop-default").getStatus()).isNotNull());
    sleepASecond(); // the narrower policy is the newer one, and still wins
    ApiPolicy orders = policy("orders", "defaults-idp", Map.of("app", "orders"));
    orders.getMetadata().setNamespace(defaults);
    orders.getSpec().upstream = new Upstream(9090);
    create(orders);
    createPodIn(defaults, "orders-1", Map.of("app", "orders"), Map.of());
    createPodIn(
        defaults,
        "cart-1",
        Map.of("app", "cart"),
        Map.of(
            ApiGroup.POLICY_ANNOTATION, "shop-default",
            ApiGroup.CONFIG_HASH_ANNOTATION, "sha256:0",
            ApiGroup.OPEN_PORTS_ANNOTATION, "9090/TCP,8081/TCP"));
    createPodIn(defaults, "unlabelled", Map.of(), Map.of());

    eventually(
        () -> {
          var s = in(defaults, "shop-default").getStatus();
          assertThat(s.matchedPods).as("every pod but orders-1").isEqualTo(2);
          assertThat(s.injectedPods).isEqualTo(1);
          assertThat(s.uninjectedPods).isEqualTo(1);
          Condition conflict = conditionIn(defaults, "shop-default", Conditions.CONFLICT);
          assertThat(conflict.getStatus()).isEqualTo("False");
          assertThat(conflict.getReason()).isEqualTo(Reasons.NO_CONFLICT);
        });
    eventually(
        () -> {
          var s = in(defaults, "orders").getStatus();
          assertThat(s.matchedPods).isEqualTo(1);
          Condition conflict = conditionIn(defaults, "orders", Conditions.CONFLICT);
          assertThat(conflict.getStatus())
              .as("a narrower policy wins over the older default: no conflict")
              .isEqualTo("False");
          assertThat(conflict.getReason()).isEqualTo(Reasons.NO_CONFLICT);
        });
    // The default's NetworkPolicy selects every pod, orders-1 too: it never admits orders' app
    // port, although cart-1 declares 9090.
    eventually(
        () -> {
          NetworkPolicy np =
              client
                  .network()
                  .v1()
                  .networkPolicies()
                  .inNamespace(defaults)
                  .withName("tokengate-shop-default")
                  .get();
          assertThat(np).isNotNull();
          assertThat(np.getSpec().getPodSelector().getMatchLabels()).isNullOrEmpty();
          assertThat(np.getSpec().getIngress().get(0).getPorts())
              .extracting(p -> p.getPort().getIntVal())
              .containsExactly(7450, 7451, 8081, 9100);
          assertThat(conditionIn(defaults, "orders", Conditions.BYPASS_RISK).getStatus())
              .isEqualTo("False");
        });

    // A second default competes with the first: the newer one reports Conflict, as two
    // narrower policies would; the narrower policy is still nobody's rival.
    sleepASecond();
    ApiPolicy late = policy("late-default", "defaults-idp", Map.of());
    late.getMetadata().setNamespace(defaults);
    create(late);
    eventually(
        () -> {
          Condition conflict = conditionIn(defaults, "late-default", Conditions.CONFLICT);
          assertThat(conflict.getStatus()).isEqualTo("True");
          assertThat(conflict.getReason()).isEqualTo(Reasons.OVERLAPPING_POLICY);
          assertThat(conflict.getMessage())
              .contains("ApiPolicy shop-default protects cart-1, unlabelled");
          assertThat(conditionIn(defaults, "shop-default", Conditions.CONFLICT).getStatus())
              .isEqualTo("False");
          assertThat(conditionIn(defaults, "orders", Conditions.CONFLICT).getStatus())
              .isEqualTo("False");
        });
  }

  @Test
  void deletionKeepsInjectedPodsDenyingUntilTheyAreGone() {
    client.resource(issuer("deleting-idp", "10m")).create();
    create(policy("doomed", "deleting-idp", Map.of("app", "doomed")));
    eventually(
        () -> assertThat(condition("doomed", Conditions.READY).getStatus()).isEqualTo("True"));
    createPod("doomed-1", Map.of("app", "doomed"), "doomed");
    eventually(() -> assertThat(get("doomed").getStatus().injectedPods).isEqualTo(1));
    assertThat(get("doomed").getMetadata().getFinalizers()).contains(ApiPolicyReconciler.FINALIZER);

    client.resources(ApiPolicy.class).inNamespace(namespace).withName("doomed").delete();
    eventually(
        () -> {
          Condition ready = condition("doomed", Conditions.READY);
          assertThat(ready.getStatus()).isEqualTo("False");
          assertThat(ready.getReason()).isEqualTo(Reasons.DELETING);
          ApiPolicy denyAll =
              (ApiPolicy)
                  ResourceReader.read(
                          "policy.yaml", configMap("doomed").getData().get("policy.yaml"))
                      .get(0);
          assertThat(denyAll.getSpec().rules)
              .singleElement()
              .satisfies(
                  r -> {
                    assertThat(r.paths).containsExactly("/**");
                    assertThat(r.action).isEqualTo(RuleAction.Deny);
                  });
          assertThat(denyAll.getSpec().issuerRef.name).isEqualTo("deleting-idp");
        });

    client.pods().inNamespace(namespace).withName("doomed-1").withGracePeriod(0).delete();
    eventually(
        Duration.ofSeconds(45),
        () ->
            assertThat(
                    client
                        .resources(ApiPolicy.class)
                        .inNamespace(namespace)
                        .withName("doomed")
                        .get())
                .isNull());
  }

  @Test
  void networkPolicyInterceptionClosesTheAppPortAndReportsWhatReopensIt() {
    client.resource(issuer("np-idp", "10m")).create();
    ApiPolicy guarded = policy("guarded", "np-idp", Map.of("app", "guarded"));
    guarded.getSpec().allowedPorts = List.of(9100);
    create(guarded);
    var meta =
        new ObjectMetaBuilder()
            .withName("guarded-1")
            .withNamespace(namespace)
            .withLabels(Map.of("app", "guarded"))
            .withAnnotations(
                Map.of(
                    ApiGroup.POLICY_ANNOTATION, "guarded",
                    ApiGroup.CONFIG_HASH_ANNOTATION, "sha256:0",
                    ApiGroup.OPEN_PORTS_ANNOTATION, "9090/TCP"));
    client
        .resource(
            new PodBuilder()
                .withMetadata(meta.build())
                .withNewSpec()
                .addNewContainer()
                .withName("app")
                .withImage("example/app:1")
                .endContainer()
                .endSpec()
                .build())
        .create();

    eventually(
        () -> {
          NetworkPolicy np = networkPolicy("guarded");
          assertThat(np).isNotNull();
          assertThat(np.getMetadata().getOwnerReferences())
              .singleElement()
              .satisfies(
                  o -> assertThat(o.getUid()).isEqualTo(get("guarded").getMetadata().getUid()));
          assertThat(np.getSpec().getPolicyTypes()).containsExactly("Ingress");
          assertThat(np.getSpec().getPodSelector().getMatchLabels())
              .isEqualTo(Map.of("app", "guarded"));
          assertThat(np.getSpec().getIngress().get(0).getPorts())
              .extracting(p -> p.getPort().getIntVal())
              .containsExactly(7450, 7451, 9090, 9100);
          Condition prot = condition("guarded", Conditions.PROTECTED);
          assertThat(prot.getStatus()).isEqualTo("True");
          assertThat(prot.getReason()).isEqualTo("NetworkPolicy");
        });

    // Another NetworkPolicy re-admits the app port; a Service targets its new name.
    client
        .resource(
            new NetworkPolicyBuilder()
                .withNewMetadata()
                .withName("allow-app")
                .withNamespace(namespace)
                .endMetadata()
                .withNewSpec()
                .withNewPodSelector()
                .withMatchLabels(Map.of("app", "guarded"))
                .endPodSelector()
                .addNewIngress()
                .addNewPort()
                .withPort(new IntOrString(8080))
                .endPort()
                .endIngress()
                .endSpec()
                .build())
        .create();
    client
        .resource(
            new ServiceBuilder()
                .withNewMetadata()
                .withName("guarded-renamed")
                .withNamespace(namespace)
                .endMetadata()
                .withNewSpec()
                .withSelector(Map.of("app", "guarded"))
                .addNewPort()
                .withPort(80)
                .withTargetPort(new IntOrString("app-8080"))
                .endPort()
                .endSpec()
                .build())
        .create();
    eventually(
        () -> {
          Condition bypass = condition("guarded", Conditions.BYPASS_RISK);
          assertThat(bypass.getStatus()).isEqualTo("True");
          assertThat(bypass.getReason()).isEqualTo(Reasons.NETWORK_POLICY_ADMITS_APP_PORT);
          assertThat(bypass.getMessage())
              .contains("allow-app (admits port 8080)")
              .contains("guarded-renamed (port 80 -> app-8080)");
          Condition prot = condition("guarded", Conditions.PROTECTED);
          assertThat(prot.getStatus()).isEqualTo("False");
          assertThat(prot.getReason()).isEqualTo(Reasons.BYPASS_RISK);
          assertThat(prot.getMessage()).contains("allow-app");
        });

    client.network().v1().networkPolicies().inNamespace(namespace).withName("allow-app").delete();
    eventually(
        () -> {
          assertThat(condition("guarded", Conditions.PROTECTED).getStatus()).isEqualTo("True");
          Condition bypass = condition("guarded", Conditions.BYPASS_RISK);
          assertThat(bypass.getReason()).isEqualTo(Reasons.SERVICE_TARGETS_RENAMED_PORT);
        });

    // Redirect: no NetworkPolicy; the interception lives in the pods, Services by number are no
    // bypass. A namespace whose Pod Security refuses the init container is reported, and a label
    // change is seen without touching the policy.
    setPodSecurity("baseline");
    client
        .resources(ApiPolicy.class)
        .inNamespace(namespace)
        .withName("guarded")
        .edit(
            p -> {
              p.getSpec().interception = Interception.Redirect;
              return p;
            });
    eventually(
        () -> {
          assertThat(networkPolicy("guarded")).isNull();
          Condition prot = condition("guarded", Conditions.PROTECTED);
          assertThat(prot.getStatus()).isEqualTo("False");
          assertThat(prot.getReason()).isEqualTo(Reasons.POD_SECURITY_REFUSES_REDIRECT);
          assertThat(prot.getMessage()).contains("'baseline'").contains("NET_ADMIN");
        });
    setPodSecurity("privileged");
    eventually(
        () -> {
          Condition prot = condition("guarded", Conditions.PROTECTED);
          assertThat(prot.getStatus()).isEqualTo("True");
          assertThat(prot.getReason()).isEqualTo(Reasons.REDIRECT);
          Condition bypass = condition("guarded", Conditions.BYPASS_RISK);
          assertThat(bypass.getStatus()).isEqualTo("False");
          assertThat(bypass.getMessage())
              .contains("guarded-renamed")
              .contains("redirected to the sidecar");
        });
  }

  @Test
  void oneTransitionIsOneEvent() throws Exception {
    TokenIssuer issuer = issuer("events-idp", "10m");
    issuer.getMetadata().setNamespace(events);
    client.resource(issuer).create();
    eventually(
        () ->
            assertThat(
                    StatusConditions.isTrue(
                        client
                            .resources(TokenIssuer.class)
                            .inNamespace(events)
                            .withName("events-idp")
                            .get()
                            .getStatus()
                            .conditions,
                        Conditions.READY))
                .isTrue());
    createPodIn(events, "fenced-1", Map.of("app", "fenced"), Map.of());
    createPodIn(events, "redirected-1", Map.of("app", "redirected"), Map.of());
    // NetworkPolicy interception: the reconciliation applies a NetworkPolicy, whose watch event
    // starts the next reconciliation before the status patch's own event has arrived.
    ApiPolicy fenced = policy("fenced", "events-idp", Map.of("app", "fenced"));
    fenced.getMetadata().setNamespace(events);
    create(fenced);
    // Redirect: Ready and Protected both change for one reason, PodsNeedRestart.
    ApiPolicy redirected = policy("redirected", "events-idp", Map.of("app", "redirected"));
    redirected.getMetadata().setNamespace(events);
    redirected.getSpec().interception = Interception.Redirect;
    create(redirected);
    for (String name : List.of("fenced", "redirected")) {
      eventually(
          () -> {
            Condition ready = conditionIn(events, name, Conditions.READY);
            assertThat(ready.getReason()).isEqualTo(Reasons.PODS_NEED_RESTART);
          });
    }
    // More events that change counts but no reason: they must not repeat an Event.
    createPodIn(events, "fenced-2", Map.of("app", "fenced"), Map.of());
    createPodIn(events, "redirected-2", Map.of("app", "redirected"), Map.of());
    eventually(() -> assertThat(in(events, "fenced").getStatus().uninjectedPods).isEqualTo(2));
    eventually(() -> assertThat(in(events, "redirected").getStatus().uninjectedPods).isEqualTo(2));
    Thread.sleep(2000);

    for (String name : List.of("fenced", "redirected")) {
      String uid = in(events, name).getMetadata().getUid();
      var reasons =
          client.v1().events().inNamespace(events).list().getItems().stream()
              .filter(e -> uid.equals(e.getInvolvedObject().getUid()))
              .map(io.fabric8.kubernetes.api.model.Event::getReason)
              .toList();
      assertThat(reasons).as("Event reasons of %s", name).contains(Reasons.PODS_NEED_RESTART);
      assertThat(reasons).as("Event reasons of %s, each once", name).doesNotHaveDuplicates();
    }
    var merged =
        client.v1().events().inNamespace(events).list().getItems().stream()
            .filter(
                e ->
                    e.getInvolvedObject().getName().equals("redirected")
                        && Reasons.PODS_NEED_RESTART.equals(e.getReason()))
            .toList();
    assertThat(merged)
        .singleElement()
        .satisfies(
            e -> assertThat(e.getMessage()).contains("Ready=True: ").contains("Protected=False: "));
  }

  @Test
  void podsARestartWouldNotProtectAreReportedApart() {
    client.resource(issuer("excluded-idp", "10m")).create();
    create(policy("nodes", "excluded-idp", Map.of("app", "nodes")));
    createPodIn(namespace, "nodes-plain", Map.of("app", "nodes"), Map.of());
    createPodIn(
        namespace,
        "nodes-host",
        Map.of("app", "nodes"),
        Map.of(ApiGroup.NOT_INJECTED_ANNOTATION, ApiGroup.NOT_INJECTED_HOST_NETWORK));
    createPodIn(
        namespace,
        "nodes-out",
        Map.of("app", "nodes"),
        Map.of(ApiGroup.INJECT_ANNOTATION, "false"));
    eventually(
        () -> {
          var s = get("nodes").getStatus();
          assertThat(s.matchedPods).isEqualTo(3);
          assertThat(s.uninjectedPods).isEqualTo(1);
          assertThat(s.excludedPods).isEqualTo(2);
          Condition ready = condition("nodes", Conditions.READY);
          assertThat(ready.getReason()).isEqualTo(Reasons.PODS_NEED_RESTART);
          assertThat(ready.getMessage())
              .contains("1 matched pod(s) run without the sidecar")
              .contains("1 hostNetwork (nodes-host)")
              .contains("1 opted out with tokengate.io/inject: \"false\" (nodes-out)");
        });
    client.pods().inNamespace(namespace).withName("nodes-plain").withGracePeriod(0).delete();
    eventually(
        () -> {
          Condition ready = condition("nodes", Conditions.READY);
          assertThat(ready.getStatus()).isEqualTo("True");
          assertThat(ready.getReason()).isEqualTo(Reasons.PODS_EXCLUDED);
          assertThat(ready.getMessage())
              .contains("a restart would not change that")
              .contains("leave them out of spec.selector");
        });
    // The namespace loses its injection label: a restart no longer helps any uninjected pod.
    createPodIn(namespace, "nodes-late", Map.of("app", "nodes"), Map.of());
    client
        .namespaces()
        .withName(namespace)
        .edit(
            ns -> {
              ns.getMetadata().getLabels().remove(ApiGroup.INJECTION_LABEL);
              return ns;
            });
    try {
      eventually(
          () -> {
            var s = get("nodes").getStatus();
            assertThat(s.uninjectedPods).isZero();
            assertThat(s.excludedPods).isEqualTo(3);
            assertThat(condition("nodes", Conditions.READY).getMessage())
                .contains(
                    "kubectl label namespace " + namespace + " tokengate.io/injection=enabled");
          });
    } finally {
      labelForInjection(namespace);
    }
    eventually(() -> assertThat(get("nodes").getStatus().uninjectedPods).isEqualTo(1));
  }

  @Test
  void aNamespaceBeingDeletedIsOneLogLineWithoutRetries() throws Exception {
    String issuerName = "ending-" + java.util.UUID.randomUUID().toString().substring(0, 6);
    ApiPolicy doomed = policy("late", issuerName, Map.of("app", "late"));
    doomed.getMetadata().setNamespace(ending);
    doomed.getSpec().issuerRef = new IssuerRef(IssuerRef.IssuerKind.ClusterTokenIssuer, issuerName);
    create(doomed);
    eventually(
        () ->
            assertThat(conditionIn(ending, "late", Conditions.ISSUER_RESOLVED).getReason())
                .isEqualTo(Reasons.ISSUER_NOT_FOUND));
    List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler capture =
        new java.util.logging.Handler() {
          @Override
          public void publish(java.util.logging.LogRecord r) {
            records.add(r);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
    root.addHandler(capture);
    try {
      // No kube-controller-manager here: the namespace stays Terminating, refusing new objects.
      client.namespaces().withName(ending).delete();
      eventually(
          () ->
              assertThat(client.namespaces().withName(ending).get().getStatus().getPhase())
                  .isEqualTo("Terminating"));
      // What the API server answers a create there, as the operator meets it.
      var refused =
          org.assertj.core.api.Assertions.catchThrowableOfType(
              io.fabric8.kubernetes.client.KubernetesClientException.class,
              () ->
                  client
                      .configMaps()
                      .inNamespace(ending)
                      .resource(
                          new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                              .withNewMetadata()
                              .withName("probe")
                              .endMetadata()
                              .build())
                      .create());
      assertThat(refused).isNotNull();
      assertThat(io.tokengate.operator.status.NamespaceTermination.refused(refused)).isTrue();

      // The issuer appears: the policy could render now, in a namespace that refuses it.
      var cluster = new io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer();
      cluster.setMetadata(new ObjectMetaBuilder().withName(issuerName).build());
      cluster.setSpec(issuer("unused", "10m").getSpec());
      client.resource(cluster).create();
      try {
        eventually(
            () ->
                assertThat(
                        StatusConditions.isTrue(
                            client
                                .resources(
                                    io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer.class)
                                .withName(issuerName)
                                .get()
                                .getStatus()
                                .conditions,
                            Conditions.READY))
                    .isTrue());
        Thread.sleep(5000); // JOSDK's retries would start within 2 s and log each attempt
      } finally {
        client
            .resources(io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer.class)
            .withName(issuerName)
            .delete();
      }
    } finally {
      root.removeHandler(capture);
    }
    assertThat(client.configMaps().inNamespace(ending).withName("tokengate-late").get()).isNull();
    List<String> aboutIt =
        records.stream()
            .filter(r -> r.getLevel().intValue() >= java.util.logging.Level.INFO.intValue())
            .filter(r -> text(r).contains(ending))
            .map(ApiPolicyReconcilerIT::text)
            .toList();
    assertThat(aboutIt)
        .as("log lines about namespace %s", ending)
        .singleElement()
        .satisfies(l -> assertThat(l).contains("is being deleted"));
    assertThat(records)
        .as("no stack trace about the refused objects")
        .noneMatch(
            r ->
                r.getThrown() != null
                    && (String.valueOf(r.getThrown()).contains("being terminated")
                        || text(r).contains(ending)));
  }

  private static String text(java.util.logging.LogRecord r) {
    String message = r.getMessage() == null ? "" : r.getMessage();
    Object[] params = r.getParameters();
    if (params != null) {
      for (Object p : params) {
        message = message + " " + p;
      }
    }
    return message;
  }

  private static void labelForInjection(String ns) {
    client
        .namespaces()
        .withName(ns)
        .edit(
            n -> {
              n.getMetadata().getLabels().put(ApiGroup.INJECTION_LABEL, "enabled");
              return n;
            });
  }

  private static void setPodSecurity(String level) {
    client
        .namespaces()
        .withName(namespace)
        .edit(
            ns -> {
              ns.getMetadata().getLabels().put("pod-security.kubernetes.io/enforce", level);
              return ns;
            });
  }

  private static NetworkPolicy networkPolicy(String policy) {
    return client
        .network()
        .v1()
        .networkPolicies()
        .inNamespace(namespace)
        .withName("tokengate-" + policy)
        .get();
  }

  @Test
  void podsAreCachedAsMetadataOnly() {
    // The API server answers the pod informer with PartialObjectMetadata: no spec ever arrives.
    var metadataClient = PodMetadataClient.from(client);
    try {
      createPod("metadata-probe", Map.of("app", "probe"), null);
      Pod listed =
          metadataClient
              .pods()
              .inNamespace(namespace)
              .withLabel("app", "probe")
              .list()
              .getItems()
              .get(0);
      assertThat(listed.getMetadata().getName()).isEqualTo("metadata-probe");
      if (api.isReal()) {
        assertThat(listed.getSpec()).as("pod spec sent by the API server").isNull();
        assertThat(listed.getKind()).isEqualTo("PartialObjectMetadata");
      }
    } finally {
      metadataClient.close();
    }
  }

  private static ApiPolicy policy(String name, String issuer, Map<String, String> labels) {
    ApiPolicy p = new ApiPolicy();
    p.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    p.setSpec(new ApiPolicySpec());
    p.getSpec().selector = new LabelSelectorBuilder().withMatchLabels(labels).build();
    p.getSpec().issuerRef = new IssuerRef(IssuerRef.IssuerKind.TokenIssuer, issuer);
    p.getSpec().audiences = List.of("api://" + name);
    p.getSpec().upstream = new Upstream(8080);
    return p;
  }

  private static TokenIssuer issuer(String name, String refresh) {
    TokenIssuer issuer = new TokenIssuer();
    issuer.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    issuer.setSpec(new TokenIssuerSpec());
    issuer.getSpec().issuer = idp.issuer();
    issuer.getSpec().allowInsecureHttp = true;
    issuer.getSpec().refreshInterval = refresh;
    return issuer;
  }

  private static void createPod(String name, Map<String, String> labels, String injectedBy) {
    var meta = new ObjectMetaBuilder().withName(name).withNamespace(namespace).withLabels(labels);
    if (injectedBy != null) {
      meta.withAnnotations(
          Map.of(
              ApiGroup.POLICY_ANNOTATION, injectedBy, ApiGroup.CONFIG_HASH_ANNOTATION, "sha256:0"));
    }
    client
        .resource(
            new PodBuilder()
                .withMetadata(meta.build())
                .withNewSpec()
                .addNewContainer()
                .withName("app")
                .withImage("example/app:1")
                .endContainer()
                .endSpec()
                .build())
        .create();
  }

  private static void createPodIn(
      String ns, String name, Map<String, String> labels, Map<String, String> annotations) {
    client
        .resource(
            new PodBuilder()
                .withMetadata(
                    new ObjectMetaBuilder()
                        .withName(name)
                        .withNamespace(ns)
                        .withLabels(labels)
                        .withAnnotations(annotations)
                        .build())
                .withNewSpec()
                .addNewContainer()
                .withName("app")
                .withImage("example/app:1")
                .endContainer()
                .endSpec()
                .build())
        .create();
  }

  private static ApiPolicy in(String ns, String name) {
    ApiPolicy p = client.resources(ApiPolicy.class).inNamespace(ns).withName(name).get();
    assertThat(p).as("ApiPolicy %s/%s", ns, name).isNotNull();
    return p;
  }

  private static Condition conditionIn(String ns, String policy, String type) {
    ApiPolicy p = in(ns, policy);
    assertThat(p.getStatus()).as("status of %s", policy).isNotNull();
    return StatusConditions.find(p.getStatus().conditions, type).orElseThrow();
  }

  private static void create(ApiPolicy policy) {
    client.resource(policy).create();
  }

  private static ApiPolicy get(String name) {
    ApiPolicy p = client.resources(ApiPolicy.class).inNamespace(namespace).withName(name).get();
    assertThat(p).as("ApiPolicy %s", name).isNotNull();
    return p;
  }

  private static Condition condition(String policy, String type) {
    ApiPolicy p = get(policy);
    assertThat(p.getStatus()).as("status of %s", policy).isNotNull();
    return StatusConditions.find(p.getStatus().conditions, type).orElseThrow();
  }

  private static ConfigMap configMap(String policy) {
    ConfigMap cm = client.configMaps().inNamespace(namespace).withName("tokengate-" + policy).get();
    assertThat(cm).as("ConfigMap of %s", policy).isNotNull();
    return cm;
  }

  private static void sleepASecond() {
    try {
      Thread.sleep(1100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
