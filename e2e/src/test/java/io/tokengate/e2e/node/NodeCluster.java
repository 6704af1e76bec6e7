package io.tokengate.e2e.node;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.e2e.cluster.ControlPlane;
import io.tokengate.e2e.cluster.NodeImages;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.scenario.ScenarioCluster;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The real node as a {@link ScenarioCluster}: {@code start.sh --node} with the images of {@code
 * e2e/images/build.sh} imported, and Keycloak listening on the node's bridge address, so pods and
 * the test see the same issuer URL.
 */
public final class NodeCluster implements ScenarioCluster {
  /** The node's address on its bridge: pods reach this machine's processes here. */
  public static final String NODE_IP = "10.244.0.1";

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final ControlPlane cluster;
  private final Keycloak keycloak;

  private NodeCluster(ControlPlane cluster, Keycloak keycloak) {
    this.cluster = cluster;
    this.keycloak = keycloak;
  }

  /** Builds (or reuses) the images, starts the cluster with the node, then Keycloak. */
  public static NodeCluster start() {
    try {
      Path base = Repo.workDir();
      Map<String, String> images = NodeImages.build();
      ControlPlane cluster =
          ControlPlane.start(Files.createTempDirectory(base, "node-"), true, images);
      try {
        // The bridge (NODE_IP) exists now; Keycloak boots while the chart installs.
        Keycloak keycloak = Keycloak.startOn(Files.createTempDirectory(base, "keycloak-"), NODE_IP);
        return new NodeCluster(cluster, keycloak);
      } catch (RuntimeException e) {
        cluster.close();
        throw e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String name() {
    return "node";
  }

  @Override
  public KubernetesClient client() {
    return cluster.client();
  }

  @Override
  public Cli kubectl() {
    return cluster.kubectl();
  }

  @Override
  public Cli helm() {
    return cluster.helm();
  }

  @Override
  public Keycloak keycloak() {
    return keycloak;
  }

  /** This machine is the node: it reaches pod IPs directly. */
  @Override
  public int statusFromNode(String url, String bearer) {
    try {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
      if (bearer != null) {
        request.header("Authorization", "Bearer " + bearer);
      }
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + url + " from the node", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    keycloak.close();
    cluster.close();
  }
}
