package io.tokengate.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.support.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;

/**
 * The resources both e2e suites apply: the repository's {@code examples/} (so a broken example
 * fails the e2e), pointed at the test's Keycloak, and the workload they protect.
 */
public final class ScenarioResources {
  static final YAMLMapper YAML = new YAMLMapper();

  private ScenarioResources() {}

  /**
   * examples/tokenissuer.yaml in {@code namespace}, with Keycloak's issuer and its CA as caBundle
   * (HTTPS end to end, no allowInsecureHttp), refreshed every {@code refresh}.
   */
  public static String issuer(Keycloak keycloak, String namespace, Duration refresh) {
    ObjectNode issuer = example("examples/tokenissuer.yaml");
    ((ObjectNode) issuer.path("metadata")).put("namespace", namespace);
    ObjectNode spec = (ObjectNode) issuer.path("spec");
    spec.put("issuer", keycloak.issuer());
    spec.put("caBundle", keycloak.caPem());
    spec.put("refreshInterval", refresh.toSeconds() + "s");
    return write(issuer);
  }

  /**
   * examples/apipolicy.yaml in {@code namespace} with the upstream port and the scope "/**" needs.
   */
  public static String policy(String namespace, int upstreamPort, String catchAllScope) {
    ObjectNode policy = example("examples/apipolicy.yaml");
    ((ObjectNode) policy.path("metadata")).put("namespace", namespace);
    ObjectNode spec = (ObjectNode) policy.path("spec");
    ((ObjectNode) spec.path("upstream")).put("port", upstreamPort);
    boolean found = false;
    for (JsonNode rule : spec.path("rules")) {
      if (rule.path("paths").toString().equals("[\"/**\"]")) {
        ArrayNode scopes = ((ObjectNode) rule.path("require")).putArray("scopes");
        scopes.add(catchAllScope);
        found = true;
      }
    }
    if (!found) {
      throw new IllegalStateException("examples/apipolicy.yaml no longer has a \"/**\" rule");
    }
    return write(policy);
  }

  /** {@code yaml} (one document) changed by {@code edit}, e.g. a variant of {@link #policy}. */
  public static String edited(String yaml, java.util.function.Consumer<ObjectNode> edit) {
    try {
      ObjectNode node = (ObjectNode) YAML.readTree(yaml);
      edit.accept(node);
      return write(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The protected workload: Deployment {@code orders} (label app=orders), one container {@code
   * orders} with its port named {@code http} on {@code port} and a readiness probe on that name.
   */
  public static String deployment(String namespace, int port, String image, List<String> args) {
    return deployment(namespace, 1, port, image, args);
  }

  /** The same workload with {@code replicas} pods. */
  public static String deployment(
      String namespace, int replicas, int port, String image, List<String> args) {
    Deployment deployment =
        new DeploymentBuilder()
            .withNewMetadata()
            .withName("orders")
            .withNamespace(namespace)
            .endMetadata()
            .withNewSpec()
            .withReplicas(replicas)
            .withNewSelector()
            .addToMatchLabels("app", "orders")
            .endSelector()
            .withNewTemplate()
            .withNewMetadata()
            .addToLabels("app", "orders")
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("orders")
            .withImage(image)
            .withArgs(args)
            .addNewPort()
            .withName("http")
            .withContainerPort(port)
            .endPort()
            .withNewReadinessProbe()
            .withNewHttpGet()
            .withPath("/healthz")
            .withPort(new IntOrString("http"))
            .endHttpGet()
            .endReadinessProbe()
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    return Serialization.asYaml(deployment);
  }

  /** A Service in front of the workload, targeting {@code targetPort} (a name or a number). */
  public static String service(String namespace, String name, String targetPort) {
    return """
        apiVersion: v1
        kind: Service
        metadata:
          name: %s
          namespace: %s
        spec:
          selector: { app: orders }
          ports:
            - port: 80
              targetPort: %s
        """
        .formatted(name, namespace, targetPort);
  }

  private static ObjectNode example(String path) {
    try {
      return (ObjectNode) YAML.readTree(Repo.root().resolve(path).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String write(ObjectNode node) {
    try {
      return YAML.writeValueAsString(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
