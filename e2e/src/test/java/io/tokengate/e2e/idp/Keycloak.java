package io.tokengate.e2e.idp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokengate.e2e.support.LoopbackCa;
import io.tokengate.e2e.support.Ports;
import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * A real Keycloak (the Maven Central distribution fetched by {@code e2e/keycloak/fetch.sh}) with
 * the {@code tokengate} realm from {@code e2e/keycloak/tokengate-realm.json} (and a second one,
 * {@code partners}, from {@code partners-realm.json}), serving HTTPS on a free loopback port with a
 * certificate from a throwaway CA ({@link #caPem()} is what a TokenIssuer's {@code caBundle}
 * holds).
 *
 * <p>Each instance runs from its own home directory (a copy of {@code bin/} and {@code conf/},
 * links to the shared, pre-built {@code lib/}, {@code providers/} and {@code themes/}) with an
 * in-memory database, so runs never share state and the cached distribution is never written.
 * {@link #start} returns at once; {@link #awaitReady} waits for discovery, so a test can start
 * Keycloak first and set up the cluster meanwhile.
 */
public final class Keycloak implements AutoCloseable {
  public static final String REALM = "tokengate";
  public static final String ORDERS_CLIENT = "orders-client";
  public static final String ORDERS_CLIENT_SECRET = "orders-client-secret";
  public static final String REPORTS_CLIENT = "reports-client";
  public static final String REPORTS_CLIENT_SECRET = "reports-client-secret";
  public static final String CLI_CLIENT = "orders-cli";

  /**
   * The orders API's own confidential client: {@code orders-cli} tokens name it in {@code aud}, so
   * Keycloak (26.6.2 and later) lets it introspect them.
   */
  public static final String GATE_CLIENT = "orders-gate";

  public static final String GATE_CLIENT_SECRET = "orders-gate-secret";
  public static final String USER = "alice";
  public static final String USER_PASSWORD = "alice-password";
  public static final String USER_ROLE = "orders-user";
  public static final String ORDERS_AUDIENCE = "api://orders";

  /** A second realm: another issuer for policies that trust several. */
  public static final String PARTNERS_REALM = "partners";

  public static final String PARTNER_CLIENT = "partner-agent";
  public static final String PARTNER_CLIENT_SECRET = "partner-agent-secret";
  public static final String PARTNERS_AUDIENCE = "api://partners";

  static final String DEFAULT_JAVA_HOME = "/usr/lib/jvm/temurin-25-jdk-amd64";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path log;
  private final int port;
  private final String localBase;
  private final String publicBase;
  private final String adminPassword;
  private final LoopbackCa ca;
  private final HttpClient http;
  private final Process process;
  private final long startedNanos = System.nanoTime();
  private Duration startup;

  private Keycloak(
      Path log,
      int port,
      String localBase,
      String publicBase,
      String adminPassword,
      LoopbackCa ca,
      Process p) {
    this.log = log;
    this.port = port;
    this.localBase = localBase;
    this.publicBase = publicBase;
    this.adminPassword = adminPassword;
    this.ca = ca;
    this.process = p;
    this.http =
        HttpClient.newBuilder()
            .sslContext(ca.clientContext())
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  /** Starts Keycloak under {@code workDir} (home, TLS material and log) and returns at once. */
  public static Keycloak start(Path workDir) {
    return start(workDir, null);
  }

  /**
   * Same, but with every URL Keycloak publishes (the {@code iss} of its tokens, discovery) on
   * {@code https://<advertisedHost>:<port>}, for clients that reach this machine under another name
   * (pods in a K3s container). The test itself still talks to 127.0.0.1.
   */
  public static Keycloak start(Path workDir, String advertisedHost) {
    return start(workDir, "127.0.0.1", advertisedHost);
  }

  /**
   * Keycloak listening only on {@code address}, a local address of this machine that pods reach too
   * (the real node's bridge gateway): its tokens' {@code iss}, discovery and JWKS are {@code
   * https://<address>:<port>} for the test, the operator and the sidecars alike.
   */
  public static Keycloak startOn(Path workDir, String address) {
    return start(workDir, address, address);
  }

  private static Keycloak start(Path workDir, String bindHost, String advertisedHost) {
    try {
      Path distribution = distribution();
      Path home = workDir.resolve("keycloak-home");
      Files.createDirectories(home.resolve("data/import"));
      copyTree(distribution.resolve("bin"), home.resolve("bin"));
      copyTree(distribution.resolve("conf"), home.resolve("conf"));
      for (String shared : List.of("lib", "providers", "themes")) {
        Files.createSymbolicLink(home.resolve(shared), distribution.resolve(shared));
      }
      for (String realm : List.of(REALM, PARTNERS_REALM)) {
        Files.copy(
            Repo.root().resolve("e2e/keycloak/" + realm + "-realm.json"),
            home.resolve("data/import/" + realm + "-realm.json"));
      }

      LoopbackCa ca = LoopbackCa.create("tokengate-e2e-idp-ca");
      String storePassword = UUID.randomUUID().toString();
      Path keyStore =
          (advertisedHost == null
                  ? ca.issueServer("127.0.0.1", "localhost")
                  : ca.issueServer("127.0.0.1", "localhost", advertisedHost))
              .writePkcs12(workDir.resolve("keycloak-tls.p12"), storePassword);

      int port = Ports.free();
      String adminPassword = UUID.randomUUID().toString();
      List<String> command =
          new ArrayList<>(
              List.of(
                  home.resolve("bin/kc.sh").toString(),
                  "start",
                  // The build options (dev-mem database, local cache) were fixed by fetch.sh's
                  // `kc.sh build`; --optimized skips re-augmenting on every start.
                  "--optimized",
                  "--http-enabled=false",
                  "--http-host=" + bindHost,
                  "--https-port=" + port,
                  "--https-key-store-file=" + keyStore,
                  "--https-key-store-password=" + storePassword,
                  "--https-key-store-type=PKCS12",
                  // Without an advertised host the issuer follows the request's host:
                  // https://127.0.0.1:<port>/realms/tokengate.
                  "--import-realm"));
      if (advertisedHost == null) {
        command.add("--hostname-strict=false");
      } else {
        command.add("--hostname=https://" + advertisedHost + ":" + port);
      }
      Map<String, String> env = new LinkedHashMap<>();
      env.put("JAVA_HOME", javaHome());
      env.put("KC_BOOTSTRAP_ADMIN_USERNAME", "admin");
      env.put("KC_BOOTSTRAP_ADMIN_PASSWORD", adminPassword);
      env.put(
          "JAVA_OPTS_KC_HEAP", System.getProperty("tokengate.keycloak.heap", "-Xms256m -Xmx1g"));
      // Startup on 2 busy cores is dominated by JIT compilation: C1 only starts faster, and the
      // e2e never loads Keycloak enough to miss C2.
      env.put(
          "JAVA_OPTS_APPEND",
          System.getProperty("tokengate.keycloak.jvmOptions", "-XX:TieredStopAtLevel=1")
              // The cache is local (fetch.sh builds with --cache=local); should anything still
              // open a JGroups channel, it stays on loopback, never on the node's bridge.
              + " -Djgroups.bind_addr=127.0.0.1");
      Path log = workDir.resolve("keycloak.log");
      Process process = Processes.start(command, env, home, log);
      String publicBase =
          "https://" + (advertisedHost == null ? "127.0.0.1" : advertisedHost) + ":" + port;
      return new Keycloak(
          log, port, "https://" + bindHost + ":" + port, publicBase, adminPassword, ca, process);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare Keycloak under " + workDir, e);
    }
  }

  /** Waits until discovery answers; returns this. */
  public Keycloak awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    URI discovery = URI.create(localRealm() + "/.well-known/openid-configuration");
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "Keycloak exited with " + process.exitValue() + "; log " + log + ":\n" + tail());
      }
      try {
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(discovery).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          if (startup != null) {
            return this;
          }
          startup = Duration.ofNanos(System.nanoTime() - startedNanos);
          System.out.printf(
              "[e2e] Keycloak ready at %s (issuer %s) after %.1f s%n",
              baseUrl(), issuer(), startup.toMillis() / 1000.0);
          return this;
        }
      } catch (IOException notYet) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      sleep(Duration.ofMillis(500));
    }
    throw new IllegalStateException(
        "Keycloak did not serve discovery within " + timeout + "; log " + log + ":\n" + tail());
  }

  /** How long it took from start until discovery answered (after {@link #awaitReady}). */
  public Duration startupTime() {
    return startup;
  }

  /** {@code https://127.0.0.1:<port>/realms/tokengate}: the {@code iss} of its tokens. */
  public String issuer() {
    return issuerOf(REALM);
  }

  /** The {@code iss} of the tokens of {@code realm}. */
  public String issuerOf(String realm) {
    return publicBase + "/realms/" + realm;
  }

  /** A client-credentials access token of a confidential client of {@code realm}. */
  public String clientCredentialsTokenIn(
      String realm, String clientId, String secret, String... scopes) {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "client_credentials");
    form.put("client_id", clientId);
    form.put("client_secret", secret);
    if (scopes.length > 0) {
      form.put("scope", String.join(" ", scopes));
    }
    return tokenRequest(realm, form).path("access_token").asText();
  }

  /** The JWKS URI discovery publishes. */
  public String jwksUri() {
    return issuer() + "/protocol/openid-connect/certs";
  }

  public int port() {
    return port;
  }

  /** PEM of the CA that issued Keycloak's TLS certificate. */
  public String caPem() {
    return ca.caPem();
  }

  /** A client that trusts Keycloak's CA. */
  public HttpClient httpClient() {
    return http;
  }

  public JsonNode discovery() {
    return getJson(URI.create(localRealm() + "/.well-known/openid-configuration"), null);
  }

  /** Kids of the signing keys ({@code use: sig}) the realm's JWKS publishes now. */
  public Set<String> signingKids() {
    Set<String> kids = new TreeSet<>();
    URI jwks = URI.create(localRealm() + "/protocol/openid-connect/certs");
    for (JsonNode key : getJson(jwks, null).path("keys")) {
      if (key.path("use").asText("sig").equals("sig")) {
        kids.add(key.path("kid").asText());
      }
    }
    return kids;
  }

  /** A client-credentials access token of {@code orders-client} (audience api://orders). */
  public String clientCredentialsToken(String... scopes) {
    return clientCredentialsTokenOf(ORDERS_CLIENT, ORDERS_CLIENT_SECRET, scopes);
  }

  /** A client-credentials access token of any confidential client of the realm. */
  public String clientCredentialsTokenOf(String clientId, String secret, String... scopes) {
    return clientCredentialsTokenIn(REALM, clientId, secret, scopes);
  }

  /** A password-grant access token of {@code username} through the public {@code orders-cli}. */
  public String passwordToken(String username, String password, String... scopes) {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "password");
    form.put("client_id", CLI_CLIENT);
    form.put("username", username);
    form.put("password", password);
    List<String> scope = new ArrayList<>(List.of("openid"));
    scope.addAll(List.of(scopes));
    form.put("scope", String.join(" ", scope));
    return tokenRequest(REALM, form).path("access_token").asText();
  }

  /**
   * Rotates the realm's RS256 signing key the way an operator of an IdP does it: a new generated
   * key with a higher priority becomes active, the old key provider is removed, so new tokens carry
   * a new {@code kid} and the old key is gone from the JWKS.
   *
   * @return the new signing kid
   */
  public String rotateKeys() {
    String admin = adminToken();
    String oldKid = activeRs256Kid(admin);
    URI components = URI.create(baseUrl() + "/admin/realms/" + REALM + "/components");
    JsonNode providers =
        getJson(URI.create(components + "?type=org.keycloak.keys.KeyProvider"), admin);
    List<String> oldIds = new ArrayList<>();
    int priority = 0;
    for (JsonNode provider : providers) {
      if ("rsa-generated".equals(provider.path("providerId").asText())) {
        oldIds.add(provider.path("id").asText());
      }
      for (JsonNode p : provider.path("config").path("priority")) {
        priority = Math.max(priority, p.asInt());
      }
    }
    ObjectNode rep = JSON.createObjectNode();
    rep.put("name", "rsa-rotated-" + System.currentTimeMillis());
    rep.put("providerId", "rsa-generated");
    rep.put("providerType", "org.keycloak.keys.KeyProvider");
    rep.put("parentId", realmId(admin));
    ObjectNode config = rep.putObject("config");
    config.putArray("priority").add(Integer.toString(priority + 100));
    config.putArray("enabled").add("true");
    config.putArray("active").add("true");
    config.putArray("algorithm").add("RS256");
    config.putArray("keySize").add("2048");
    send(
        HttpRequest.newBuilder(components)
            .header("Authorization", "Bearer " + admin)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(rep.toString())),
        201);
    for (String id : oldIds) {
      send(
          HttpRequest.newBuilder(URI.create(components + "/" + id))
              .header("Authorization", "Bearer " + admin)
              .DELETE(),
          204);
    }
    String newKid = activeRs256Kid(admin);
    if (newKid == null || newKid.equals(oldKid)) {
      throw new IllegalStateException("key rotation did not change the active kid " + oldKid);
    }
    return newKid;
  }

  /**
   * What the realm's introspection endpoint (RFC 7662) answers about {@code token} when asked by
   * the confidential client {@code clientId}: the answer as Keycloak gives it.
   */
  public JsonNode introspect(String token, String clientId, String secret) {
    String body =
        "token="
            + URLEncoder.encode(token, StandardCharsets.UTF_8)
            + "&client_id="
            + URLEncoder.encode(clientId, StandardCharsets.UTF_8)
            + "&client_secret="
            + URLEncoder.encode(secret, StandardCharsets.UTF_8);
    URI uri = URI.create(localRealm() + "/protocol/openid-connect/token/introspect");
    return parse(
        send(
            HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)),
            200));
  }

  /**
   * Ends every session of {@code username} the way an administrator (or the user's "sign out
   * everywhere") does: the access tokens issued in them stay validly signed until their {@code
   * exp}, but the realm's introspection endpoint answers {@code active: false} for them from now.
   */
  public void logoutUser(String username) {
    String admin = adminToken();
    URI users =
        URI.create(
            baseUrl()
                + "/admin/realms/"
                + REALM
                + "/users?exact=true&username="
                + URLEncoder.encode(username, StandardCharsets.UTF_8));
    JsonNode found = getJson(users, admin);
    if (found.size() != 1) {
      throw new IllegalStateException("user " + username + " not found exactly once: " + found);
    }
    String id = found.get(0).path("id").asText();
    send(
        HttpRequest.newBuilder(
                URI.create(baseUrl() + "/admin/realms/" + REALM + "/users/" + id + "/logout"))
            .header("Authorization", "Bearer " + admin)
            .POST(HttpRequest.BodyPublishers.noBody()),
        204);
  }

  /** Stops Keycloak and everything it started. */
  @Override
  public void close() {
    Processes.stopTree(process, Duration.ofSeconds(20));
  }

  public Path log() {
    return log;
  }

  public String tail() {
    return Processes.tail(log, 60);
  }

  private String baseUrl() {
    return localBase;
  }

  private String localRealm() {
    return baseUrl() + "/realms/" + REALM;
  }

  private String adminToken() {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "password");
    form.put("client_id", "admin-cli");
    form.put("username", "admin");
    form.put("password", adminPassword);
    return tokenRequest("master", form).path("access_token").asText();
  }

  private String realmId(String admin) {
    return getJson(URI.create(baseUrl() + "/admin/realms/" + REALM), admin).path("id").asText();
  }

  private String activeRs256Kid(String admin) {
    JsonNode keys = getJson(URI.create(baseUrl() + "/admin/realms/" + REALM + "/keys"), admin);
    return keys.path("active").path("RS256").asText(null);
  }

  private JsonNode tokenRequest(String realm, Map<String, String> form) {
    String body =
        form.entrySet().stream()
            .map(
                e ->
                    URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                        + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
            .collect(Collectors.joining("&"));
    URI uri = URI.create(baseUrl() + "/realms/" + realm + "/protocol/openid-connect/token");
    return parse(
        send(
            HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)),
            200));
  }

  private JsonNode getJson(URI uri, String bearer) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET();
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return parse(send(request, 200));
  }

  private String send(HttpRequest.Builder request, int expected) {
    HttpRequest built = request.timeout(Duration.ofSeconds(30)).build();
    try {
      HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != expected) {
        throw new IllegalStateException(
            built.method()
                + " "
                + built.uri()
                + " answered "
                + response.statusCode()
                + ", expected "
                + expected
                + ": "
                + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new UncheckedIOException(built.method() + " " + built.uri(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode parse(String body) {
    try {
      return body.isEmpty() ? JSON.createObjectNode() : JSON.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The pre-built distribution; runs fetch.sh if it is not there (e.g. a test run from an IDE). */
  static Path distribution() {
    String version = System.getProperty("tokengate.keycloak.version", "26.7.3");
    Path dist = Repo.cache().resolve("keycloak-" + version);
    if (!Files.isRegularFile(dist.resolve(".tokengate-build"))) {
      Processes.run(
          List.of("bash", Repo.root().resolve("e2e/keycloak/fetch.sh").toString()),
          Map.of("TOKENGATE_KEYCLOAK_VERSION", version),
          Duration.ofMinutes(15));
    }
    return dist;
  }

  static String javaHome() {
    String configured = System.getenv("TOKENGATE_KEYCLOAK_JAVA_HOME");
    String home = configured != null && !configured.isBlank() ? configured : DEFAULT_JAVA_HOME;
    if (!Files.isExecutable(Path.of(home, "bin", "java"))) {
      throw new IllegalStateException(
          "Keycloak needs Java 21+: no JDK at "
              + home
              + " (set TOKENGATE_KEYCLOAK_JAVA_HOME to a JDK 21 or newer)");
    }
    return home;
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var paths = Files.walk(from)) {
      for (Path source : (Iterable<Path>) paths::iterator) {
        Path target = to.resolve(from.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          Files.copy(source, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
