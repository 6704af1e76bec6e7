package io.tokengate.e2e.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokengate.e2e.idp.Jwt;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.idp.KeycloakExtension;
import io.tokengate.e2e.support.Ports;
import io.tokengate.e2e.support.Repo;
import io.tokengate.e2e.support.UpstreamApp;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An agent (an MCP client) meets an API it knows nothing about, as the MCP authorization spec has
 * it: the 401 names the protected-resource metadata (RFC 9728), the metadata names the
 * authorization server, the server's discovery names its token endpoint, and the token it issues is
 * accepted. Then the same with DPoP (RFC 9449): Keycloak binds the token to the agent's key, and
 * the sidecar accepts it only with a fresh proof of that key. The sidecar runs as the standalone
 * jar, the tokens come from the real Keycloak, and the client is plain JDK HTTP and crypto.
 */
@ExtendWith(KeycloakExtension.class)
class AgentDiscoveryIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern RESOURCE_METADATA =
      Pattern.compile("resource_metadata=\"([^\"]+)\"");

  static Keycloak keycloak;
  static UpstreamApp app;
  static StandaloneSidecar bearerGate;
  static StandaloneSidecar dpopGate;
  static final HttpClient http = HttpClient.newHttpClient();
  static final List<String> secrets = new ArrayList<>();

  @BeforeAll
  static void start(Keycloak shared) throws IOException {
    Path base = Files.createTempDirectory(Repo.workDir(), "agent-");
    int upstreamPort = Ports.free();
    app = UpstreamApp.start(upstreamPort);
    keycloak = shared.awaitReady(Duration.ofMinutes(5));
    int bearerPort = StandaloneSidecar.reservePort();
    bearerGate =
        StandaloneSidecar.start(
            base.resolve("bearer"), bearerPort, config(bearerPort, upstreamPort, "Allowed"));
    int dpopPort = StandaloneSidecar.reservePort();
    dpopGate =
        StandaloneSidecar.start(
            base.resolve("dpop"), dpopPort, config(dpopPort, upstreamPort, "Required"));
  }

  @AfterAll
  static void stop() {
    String logs = "";
    for (StandaloneSidecar gate : new StandaloneSidecar[] {bearerGate, dpopGate}) {
      if (gate != null) {
        logs += gate.logText();
        gate.close();
      }
    }
    if (app != null) {
      app.close();
    }
    for (String s : secrets) {
      assertThat(logs).as("the sidecar's log holds no token or proof").doesNotContain(s);
    }
  }

  /** The issuer and policy a user would write for an API served at 127.0.0.1:{@code port}. */
  static String config(int port, int upstreamPort, String dpop) {
    return StandaloneSidecar.issuerYaml(
            "keycloak", keycloak.issuer(), Keycloak.ORDERS_AUDIENCE, keycloak.caPem())
        + """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: orders-mcp, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          issuerRef: {name: keycloak}
          upstream: {port: %d}
          dpop: %s
          resourceMetadata: {resource: "http://127.0.0.1:%d"}
          rules:
            - paths: ["/orders/**"]
              require: {scopes: [orders.read]}
        """
            .formatted(upstreamPort, dpop, port);
  }

  @Test
  void anAgentFindsTheIssuerFromThe401AndItsTokenIsAccepted() throws Exception {
    URI api = bearerGate.uri("/orders/1");
    HttpResponse<String> first = get(api, null, null);
    assertThat(first.statusCode()).isEqualTo(401);
    URI metadataUrl = resourceMetadata(first);
    assertThat(metadataUrl).isEqualTo(bearerGate.uri("/.well-known/oauth-protected-resource"));

    JsonNode metadata = json(get(metadataUrl, null, null), 200);
    assertThat(metadata.path("resource").asText()).isEqualTo(bearerGate.uri("").toString());
    assertThat(metadata.path("bearer_methods_supported").toString()).isEqualTo("[\"header\"]");
    assertThat(metadata.path("dpop_bound_access_tokens_required").asBoolean()).isFalse();
    String scope = metadata.path("scopes_supported").get(0).asText();
    assertThat(scope).isEqualTo("orders.read");

    JsonNode server = discovery(metadata);
    String token = tokenResponse(server, scope, null).path("access_token").asText();
    remember(token);

    HttpResponse<String> ok = get(api, "Bearer " + token, null);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(ok.body()).path("path").asText()).isEqualTo("/orders/1");
  }

  @Test
  void anAgentWithADpopKeyGetsABoundTokenThatWorksOnlyWithItsProof() throws Exception {
    URI api = dpopGate.uri("/orders/2");
    HttpResponse<String> first = get(api, null, null);
    assertThat(first.statusCode()).isEqualTo(401);
    assertThat(first.headers().firstValue("WWW-Authenticate").orElseThrow())
        .startsWith("DPoP ")
        .contains("algs=\"")
        .contains("ES256");
    JsonNode metadata = json(get(resourceMetadata(first), null, null), 200);
    assertThat(metadata.path("dpop_bound_access_tokens_required").asBoolean()).isTrue();
    assertThat(metadata.path("dpop_signing_alg_values_supported").toString()).contains("ES256");

    JsonNode server = discovery(metadata);
    DpopClientKey key = DpopClientKey.generate();
    JsonNode issued = tokenResponse(server, "orders.read", key);
    assertThat(issued.path("token_type").asText()).isEqualToIgnoringCase("DPoP");
    String token = remember(issued.path("access_token").asText());
    assertThat(Jwt.decode(token).claims().path("cnf").path("jkt").asText())
        .isEqualTo(key.thumbprint());

    String proof = remember(key.proof("GET", api.toString(), token));
    assertThat(get(api, "DPoP " + token, proof).statusCode()).isEqualTo(200);
    // The same proof again is a replay; a proof for another URL or a bearer presentation fail.
    assertThat(get(api, "DPoP " + token, proof).statusCode()).isEqualTo(401);
    String elsewhere = remember(key.proof("GET", dpopGate.uri("/orders/3").toString(), token));
    HttpResponse<String> moved = get(api, "DPoP " + token, elsewhere);
    assertThat(moved.statusCode()).isEqualTo(401);
    assertThat(moved.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("error=\"invalid_dpop_proof\"");
    assertThat(get(api, "Bearer " + token, null).statusCode()).isEqualTo(401);
    // A stolen token without the key: the thief's own proof does not match cnf.jkt.
    String thiefs = remember(DpopClientKey.generate().proof("GET", api.toString(), token));
    assertThat(get(api, "DPoP " + token, thiefs).statusCode()).isEqualTo(401);
    // Where DPoP is required, an unbound token from the same issuer is refused.
    String unbound =
        remember(tokenResponse(server, "orders.read", null).path("access_token").asText());
    assertThat(get(api, "Bearer " + unbound, null).statusCode()).isEqualTo(401);
  }

  /** The authorization server's discovery, from the metadata's first authorization server. */
  static JsonNode discovery(JsonNode metadata) throws Exception {
    String as = metadata.path("authorization_servers").get(0).asText();
    assertThat(as).isEqualTo(keycloak.issuer());
    JsonNode server =
        json(
            keycloak
                .httpClient()
                .send(
                    HttpRequest.newBuilder(URI.create(as + "/.well-known/openid-configuration"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString()),
            200);
    assertThat(server.path("issuer").asText()).isEqualTo(as);
    return server;
  }

  /** A client-credentials token of the orders client, bound to {@code key} when it is given. */
  static JsonNode tokenResponse(JsonNode server, String scope, DpopClientKey key) throws Exception {
    String endpoint = server.path("token_endpoint").asText();
    String form =
        "grant_type=client_credentials&client_id="
            + Keycloak.ORDERS_CLIENT
            + "&client_secret="
            + Keycloak.ORDERS_CLIENT_SECRET
            + "&scope="
            + URLEncoder.encode(scope, StandardCharsets.UTF_8);
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(endpoint))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form));
    if (key != null) {
      request.header("DPoP", key.proof("POST", endpoint, null));
    }
    return json(
        keycloak.httpClient().send(request.build(), HttpResponse.BodyHandlers.ofString()), 200);
  }

  static URI resourceMetadata(HttpResponse<String> challenge) {
    String header = String.join(", ", challenge.headers().allValues("WWW-Authenticate"));
    Matcher m = RESOURCE_METADATA.matcher(header);
    assertThat(m.find()).as("resource_metadata in %s", header).isTrue();
    return URI.create(m.group(1));
  }

  static HttpResponse<String> get(URI uri, String authorization, String proof) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    if (proof != null) {
      b.header("DPoP", proof);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(HttpResponse<String> response, int status) throws IOException {
    assertThat(response.statusCode())
        .as("%s: %s", response.uri(), response.body())
        .isEqualTo(status);
    return JSON.readTree(response.body());
  }

  static String remember(String secret) {
    secrets.add(secret);
    return secret;
  }
}
