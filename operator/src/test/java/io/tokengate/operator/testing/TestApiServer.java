package io.tokengate.operator.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The Kubernetes API the reconciler tests run against: a real kube-apiserver + etcd (fabric8
 * kube-api-test, offline, with the binaries built by {@code e2e/controlplane/build.sh}) when they
 * are present, else the fabric8 mock server in CRUD mode. One per test JVM; each test works in its
 * own namespace. {@code -Dtokengate.apiserver=mock} forces the mock server.
 */
public final class TestApiServer {
  private static TestApiServer shared;

  private final KubernetesClient client;
  private final boolean real;
  private final String description;

  private TestApiServer(KubernetesClient client, boolean real, String description) {
    this.client = client;
    this.real = real;
    this.description = description;
  }

  public static synchronized TestApiServer shared() {
    if (shared == null) {
      shared = start();
      System.out.println("[tokengate tests] Kubernetes API: " + shared.description);
      shared.installCrds();
    }
    return shared;
  }

  public KubernetesClient client() {
    return client;
  }

  /** A real kube-apiserver (schema validation, CEL, status subresource semantics). */
  public boolean isReal() {
    return real;
  }

  public String description() {
    return description;
  }

  /** A fresh namespace for one test. */
  public String newNamespace(String prefix) {
    String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 6);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    return name;
  }

  private static TestApiServer start() {
    if (!"mock".equals(System.getProperty("tokengate.apiserver"))) {
      Optional<Path> binaries = ControlPlaneBinaries.kubeApiTestDir();
      if (binaries.isPresent()) {
        var config =
            KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(binaries.get().toString())
                .withApiServerVersion(ControlPlaneBinaries.VERSION)
                .withOfflineMode(true)
                .withUpdateKubeConfig(false)
                .withStartupTimeout(90_000)
                .build();
        KubeAPIServer server = new KubeAPIServer(config);
        server.start();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
        KubernetesClient client =
            new KubernetesClientBuilder()
                .withConfig(Config.fromKubeconfig(server.getKubeConfigYaml()))
                .build();
        return new TestApiServer(
            client,
            true,
            "real kube-apiserver "
                + client.getKubernetesVersion().getGitVersion()
                + " (kube-api-test, binaries from "
                + binaries.get()
                + ")");
      }
    }
    KubernetesMockServer server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            new HashMap<>(),
            new KubernetesCrudDispatcher(List.of()),
            false);
    server.init();
    committedCrds().forEach(crd -> server.expectCustomResource(context(crd)));
    Runtime.getRuntime().addShutdownHook(new Thread(server::destroy));
    return new TestApiServer(
        server.createClient(),
        false,
        "fabric8 mock server in CRUD mode (no kube-apiserver binary found: run"
            + " e2e/controlplane/build.sh for the real one; schema, CEL and reconciler tests are skipped)");
  }

  /** The CRDs from {@code crds/}, applied and established. */
  private void installCrds() {
    for (CustomResourceDefinition crd : committedCrds()) {
      if (!real) {
        client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
        continue;
      }
      client.apiextensions().v1().customResourceDefinitions().resource(crd).serverSideApply();
      {
        client
            .apiextensions()
            .v1()
            .customResourceDefinitions()
            .withName(crd.getMetadata().getName())
            .waitUntilCondition(
                c ->
                    c != null
                        && c.getStatus() != null
                        && c.getStatus().getConditions() != null
                        && c.getStatus().getConditions().stream()
                            .anyMatch(
                                x ->
                                    "Established".equals(x.getType())
                                        && "True".equals(x.getStatus())),
                30,
                TimeUnit.SECONDS);
      }
    }
  }

  public static List<CustomResourceDefinition> committedCrds() {
    List<CustomResourceDefinition> crds = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(crdDir(), "*.yml")) {
      for (Path f : files) {
        try (var in = Files.newInputStream(f)) {
          crds.add(
              new KubernetesClientBuilder()
                  .build()
                  .getKubernetesSerialization()
                  .unmarshal(in, CustomResourceDefinition.class));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return crds;
  }

  /** Top-level {@code crds/} of the repository. */
  public static Path crdDir() {
    return repositoryRoot().resolve("crds");
  }

  public static Path repositoryRoot() {
    Path dir = Paths.get("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("crds"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("cannot find the repository root (a directory with crds/)");
    }
    return dir;
  }

  static CustomResourceDefinitionContext context(CustomResourceDefinition crd) {
    return CustomResourceDefinitionContext.fromCrd(crd);
  }
}
