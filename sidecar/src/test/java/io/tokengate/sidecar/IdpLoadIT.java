package io.tokengate.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.SidecarProcessIT.Running;
import io.tokengate.sidecar.testing.KubeletVolume;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.testing.TestIssuer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * IdP load of a fleet of sidecars: {@value #PODS} shaded-jar processes, each with its own
 * kubelet-style config volume holding the operator's key snapshot, against one counting issuer.
 * Steady state costs the IdP nothing whatever the number of pods; an unannounced rotation costs at
 * most one JWKS fetch per pod, and nothing more once the snapshot carrying the new key is in every
 * volume; an announced rotation (the new key in the snapshot before it signs) costs nothing.
 * Counts, never timings.
 */
class IdpLoadIT {
  static final int PODS = 8;

  /** Short, so that a sidecar still polling on a timer would show up within the windows below. */
  static final String REFRESH_INTERVAL = "2s";

  static final Duration WINDOW = Duration.ofSeconds(6);

  @BeforeAll
  static void setUp() throws Exception {
    // The process launcher, the counting issuer and the upstream of the CLI contract test.
    SidecarProcessIT.setUp();
  }

  @AfterAll
  static void tearDown() {
    SidecarProcessIT.tearDown();
  }

  @Test
  void idpRequestsDoNotGrowWithPodsAndAnUnannouncedRotationCostsOneFetchPerPod() throws Exception {
    TestIssuer idp = SidecarProcessIT.idp;
    TokenIssuerSpec spec = idp.spec();
    spec.refreshInterval = REFRESH_INTERVAL;
    String issuer = PolicyFiles.issuerYaml("idp", spec);
    String policy =
        PolicyFiles.policyYaml(SidecarProcessIT.app.port(), SidecarProcessIT.rules("orders.read"));
    List<KubeletVolume> volumes = new ArrayList<>();
    List<Running> pods = new ArrayList<>();
    idp.resetCounts();
    try {
      for (int i = 0; i < PODS; i++) {
        KubeletVolume volume =
            new KubeletVolume(
                SidecarProcessIT.work.resolve("pod-" + i + "-" + System.nanoTime()),
                files(policy, issuer, idp.jwksJson()));
        volumes.add(volume);
        pods.add(SidecarProcessIT.start(volume.dir()));
      }
      for (Running pod : pods) {
        SidecarProcessIT.awaitReady(pod);
      }

      // Steady state: tokens with the snapshot's kid flow through every pod for three refresh
      // intervals; the IdP is never asked, from the start on.
      String known = idp.token().claim("scope", "orders.read").sign();
      int served = sendFor(pods, known, WINDOW);
      System.out.printf(
          "steady state: %d pods, %d requests served in %d s, IdP JWKS requests %d, discovery"
              + " %d%n",
          PODS, served, WINDOW.toSeconds(), idp.jwksRequests(), idp.discoveryRequests());
      assertThat(idp.jwksRequests()).as("JWKS requests in steady state").isZero();
      assertThat(idp.discoveryRequests()).as("discovery requests in steady state").isZero();

      // An unannounced rotation: the IdP signs with a key no snapshot holds yet. Every pod gets
      // several concurrent tokens with the new kid; each pod fetches once, shared by its tokens.
      idp.rotate();
      String rotated = idp.token().claim("scope", "orders.read").sign();
      List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
      for (Running pod : pods) {
        for (int c = 0; c < 4; c++) {
          burst.add(
              SidecarProcessIT.http.sendAsync(
                  SidecarProcessIT.get(pod, "/orders", rotated),
                  HttpResponse.BodyHandlers.ofString()));
        }
      }
      for (CompletableFuture<HttpResponse<String>> f : burst) {
        assertThat(f.get(30, TimeUnit.SECONDS).statusCode())
            .as("a token signed with the rotated key")
            .isEqualTo(200);
      }
      int rotationJwks = idp.jwksRequests();
      int rotationDiscovery = idp.discoveryRequests();
      System.out.printf(
          "rotation: %d pods x 4 tokens with a new kid, IdP JWKS requests %d, discovery %d%n",
          PODS, rotationJwks, rotationDiscovery);
      assertThat(rotationJwks).as("JWKS requests on rotation").isBetween(1, PODS);
      assertThat(rotationDiscovery).as("discovery requests on rotation").isLessThanOrEqualTo(PODS);
      for (Running pod : pods) {
        assertThat(refreshes(pod, "ok", "unknown_kid")).as("unknown-kid fetches of a pod").isOne();
        assertThat(refreshes(pod, "ok", "interval")).as("timer fetches of a pod").isZero();
      }

      // The operator renders the new key set; the kubelet swaps it into every volume and each
      // sidecar reloads it. From then on the IdP is not asked again, old kid or new.
      idp.resetCounts();
      for (KubeletVolume volume : volumes) {
        volume.update(files(policy, issuer, idp.jwksJson()));
      }
      for (Running pod : pods) {
        awaitReloads(pod, 1);
      }
      served = sendFor(pods, rotated, WINDOW.dividedBy(2));
      served += sendFor(pods, known, WINDOW.dividedBy(2));
      System.out.printf(
          "after the new snapshot: %d requests served, IdP JWKS requests %d, discovery %d%n",
          served, idp.jwksRequests(), idp.discoveryRequests());
      assertThat(idp.jwksRequests()).as("JWKS requests after the new snapshot").isZero();
      assertThat(idp.discoveryRequests()).as("discovery after the new snapshot").isZero();

      // An announced rotation: the key reaches the pods only through the snapshot the operator
      // renders, and tokens signed with it pass without any pod asking the IdP.
      idp.rotate();
      for (KubeletVolume volume : volumes) {
        volume.update(files(policy, issuer, idp.jwksJson()));
      }
      for (Running pod : pods) {
        awaitReloads(pod, 2);
      }
      served = sendFor(pods, idp.token().claim("scope", "orders.read").sign(), WINDOW.dividedBy(2));
      System.out.printf(
          "announced rotation: %d requests served, IdP JWKS requests %d, discovery %d%n",
          served, idp.jwksRequests(), idp.discoveryRequests());
      assertThat(idp.jwksRequests()).as("JWKS requests on an announced rotation").isZero();
      assertThat(idp.discoveryRequests()).as("discovery on an announced rotation").isZero();
    } finally {
      for (Running pod : pods) {
        pod.process().destroy();
      }
      for (Running pod : pods) {
        pod.process().waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  private static Map<String, String> files(String policy, String issuer, String jwks) {
    return Map.of("policy.yaml", policy, "issuer.yaml", issuer, "idp.jwks.json", jwks);
  }

  /** Sends {@code token} round-robin to every pod until {@code window} passed; all must pass. */
  private static int sendFor(List<Running> pods, String token, Duration window) throws Exception {
    long end = System.nanoTime() + window.toNanos();
    int sent = 0;
    while (System.nanoTime() < end) {
      for (Running pod : pods) {
        HttpResponse<String> r =
            SidecarProcessIT.http.send(
                SidecarProcessIT.get(pod, "/orders", token), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("a token with a held kid: %s", r.body()).isEqualTo(200);
        sent++;
      }
      Thread.sleep(20);
    }
    return sent;
  }

  private static double refreshes(Running pod, String result, String trigger) throws Exception {
    return metric(
        pod,
        "tokengate_jwks_refresh_total\\{[^}]*result=\""
            + result
            + "\",trigger=\""
            + trigger
            + "\"}");
  }

  private static void awaitReloads(Running pod, int count) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (metric(pod, "tokengate_config_reloads_total\\{result=\"success\"}") >= count) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no configuration reload within 30 s: " + pod.out());
  }

  private static double metric(Running pod, String seriesRegex) throws Exception {
    String text = SidecarProcessIT.admin(pod, "/metrics").body();
    Matcher m = Pattern.compile("(?m)^" + seriesRegex + " (\\S+)$").matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }
}
