package io.tokengate.testing;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * A real OpenID Connect issuer for tests: serves discovery ({@code
 * <issuer>/.well-known/openid-configuration}) and a JWKS ({@code <issuer>/keys}) over real HTTP or
 * HTTPS on a random loopback port, signs tokens with real keys, rotates keys, goes down in several
 * ways and comes back, and counts what it was asked.
 *
 * <pre>{@code
 * try (TestIssuer idp = TestIssuer.start()) {              // HTTP, one RSA key "rsa-1"
 *   TokenIssuerSpec spec = idp.spec();                    // issuer URL, allowInsecureHttp=true
 *   String token = idp.token().audience("api://orders").sign();
 *   SigningKey next = idp.rotate();                       // new active key, old one still published
 *   idp.unpublish("rsa-1");                               // old key gone from the JWKS
 *   idp.goDown(TestIssuer.Outage.HTTP_500);               // or REFUSE, CLOSE_CONNECTION, HANG
 *   idp.comeBack();
 *   int fetches = idp.jwksRequests();
 * }
 *
 * TestIssuer entra = TestIssuer.builder()
 *     .issuerPath("/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")
 *     .key(SigningKey.rsa("entra-1").withoutAlgOnJwk())
 *     .https()                                            // spec() then carries caBundle
 *     .start();
 *
 * TestIssuer orgs = TestIssuer.builder()                  // Entra multi-tenant, as Entra serves it
 *     .issuerPath("/organizations/v2.0")                  // spec().issuer: tenant-independent
 *     .tenantTemplate("/{tenantid}/v2.0")                 // discovery's issuer and the keys' issuer
 *     .start();
 * String token = orgs.tenantToken(tid).sign();            // iss of that tenant, tid claim
 * }</pre>
 *
 * The JWKS answers with an {@code ETag} and honours {@code If-None-Match} (304). Handlers run on
 * their own threads, so a {@link Outage#HANG} outage holds connections open without blocking other
 * requests. Thread-safe.
 */
public final class TestIssuer implements AutoCloseable {

  /** The audience {@link #token()} puts in {@code aud} unless told otherwise. */
  public static final String DEFAULT_AUDIENCE = "api://tokengate-test";

  /** How the issuer misbehaves while down. */
  public enum Outage {
    /** The listening socket is closed: connections are refused. */
    REFUSE,
    /** Every request is answered 500. */
    HTTP_500,
    /** Every connection is closed without an HTTP response. */
    CLOSE_CONNECTION,
    /** Requests are accepted and never answered (until {@link #comeBack()} or close). */
    HANG
  }

  private final boolean https;
  private final String issuerPath;
  private final String tenantTemplate;
  private final ExecutorService executor;
  private final Object lock = new Object();
  private final List<SigningKey> published = new ArrayList<>();
  private final Queue<HttpExchange> hanging = new ConcurrentLinkedQueue<>();
  private final AtomicInteger jwksRequests = new AtomicInteger();
  private final AtomicInteger discoveryRequests = new AtomicInteger();
  private final Queue<Long> requestNanos = new ConcurrentLinkedQueue<>();
  private final AtomicInteger kidCounter = new AtomicInteger(1);
  private volatile SigningKey active;
  private volatile Outage outage;
  private volatile Duration jwksDelay = Duration.ZERO;
  private volatile String jwksBodyOverride;
  private volatile Map<String, Object> discoveryOverrides = Map.of();
  private volatile HttpServer server;
  private final int port;
  private final Map<String, Map<String, Object>> introspectable =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicInteger introspectionRequests = new AtomicInteger();
  private volatile String introspectionClientId = "gate";
  private volatile String introspectionClientSecret = "gate-secret";
  private volatile Duration introspectionDelay = Duration.ZERO;

  private TestIssuer(Builder builder) throws IOException {
    this.https = builder.https;
    this.issuerPath = builder.issuerPath;
    this.tenantTemplate = builder.tenantTemplate;
    this.executor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "test-issuer");
              t.setDaemon(true);
              return t;
            });
    published.addAll(builder.keys);
    active = builder.keys.get(0);
    this.server = bind(0);
    this.port = server.getAddress().getPort();
  }

  /** An HTTP issuer at {@code http://127.0.0.1:<port>} with one RSA key {@code rsa-1}. */
  public static TestIssuer start() {
    return builder().start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Options for {@link TestIssuer}; {@link #start()} binds the port. */
  public static final class Builder {
    private boolean https;
    private String issuerPath = "";
    private String tenantTemplate;
    private final List<SigningKey> keys = new ArrayList<>();

    private Builder() {}

    /** Serve HTTPS with a self-signed certificate for 127.0.0.1 (see {@link #caBundlePem()}). */
    public Builder https() {
      this.https = true;
      return this;
    }

    /**
     * The issuer's path, appended to {@code http(s)://127.0.0.1:<port>}, e.g. {@code /realms/corp}
     * (Keycloak), {@code /<tenant>/} (Entra v1, trailing slash kept) or {@code /} (Auth0). Default:
     * none, the issuer is the bare origin.
     */
    public Builder issuerPath(String path) {
      this.issuerPath = path;
      return this;
    }

    /**
     * Serves a tenant-independent issuer the way Microsoft Entra does for {@code /organizations}
     * and {@code /common}: discovery's {@code issuer} (and each JWKS key's {@code issuer} member)
     * is {@code http(s)://127.0.0.1:<port>} followed by {@code pathTemplate}, which holds {@code
     * {tenantid}}, e.g. {@code /{tenantid}/v2.0} (v2) or {@code /{tenantid}/} (v1). Tokens come
     * from {@link #tenantToken(String)}.
     */
    public Builder tenantTemplate(String pathTemplate) {
      if (!pathTemplate.contains("{tenantid}")) {
        throw new IllegalArgumentException("a tenant template holds {tenantid}: " + pathTemplate);
      }
      this.tenantTemplate = pathTemplate;
      return this;
    }

    /** Publishes {@code key}; the first key given becomes the active signing key. */
    public Builder key(SigningKey key) {
      keys.add(key);
      return this;
    }

    public TestIssuer start() {
      if (keys.isEmpty()) {
        keys.add(SigningKey.rsa("rsa-1"));
      }
      try {
        return new TestIssuer(this);
      } catch (IOException e) {
        throw new IllegalStateException("test issuer failed to start", e);
      }
    }
  }

  // ---- addresses and configuration ----

  /** {@code http(s)://127.0.0.1:<port>}. */
  public String origin() {
    return (https ? "https" : "http") + "://127.0.0.1:" + port;
  }

  /** The issuer identifier: what {@code iss} and discovery's {@code issuer} carry. */
  public String issuer() {
    return origin() + issuerPath;
  }

  /** Discovery URL per OpenID Connect Discovery (a trailing slash of the issuer removed). */
  public String discoveryUri() {
    return origin() + basePath() + "/.well-known/openid-configuration";
  }

  public String jwksUri() {
    return origin() + basePath() + "/keys";
  }

  public int port() {
    return port;
  }

  /**
   * A fresh spec for this issuer: {@code issuer}, discovery on, {@code allowInsecureHttp} for HTTP
   * or {@code caBundle} for HTTPS; everything else at the CRD defaults. Tests may edit it.
   */
  public TokenIssuerSpec spec() {
    TokenIssuerSpec spec = new TokenIssuerSpec();
    spec.issuer = issuer();
    spec.allowInsecureHttp = !https;
    if (https) {
      spec.caBundle = caBundlePem();
    }
    return spec;
  }

  /** PEM of the certificate the HTTPS issuer serves (self-signed; it is its own CA). */
  public String caBundlePem() {
    if (!https) {
      throw new IllegalStateException("this issuer serves plain HTTP");
    }
    return TestTls.get().certificatePem();
  }

  // ---- keys and tokens ----

  /** A token builder pre-filled with this issuer, its active key and {@link #DEFAULT_AUDIENCE}. */
  public TokenBuilder token() {
    return new TokenBuilder(active, issuer(), DEFAULT_AUDIENCE);
  }

  /**
   * With {@link Builder#tenantTemplate}: the issuer template as discovery names it, e.g. {@code
   * http://127.0.0.1:<port>/{tenantid}/v2.0}.
   */
  public String issuerTemplate() {
    if (tenantTemplate == null) {
      throw new IllegalStateException("this issuer has no tenant template");
    }
    return origin() + tenantTemplate;
  }

  /** The issuer of tenant {@code tid}: {@link #issuerTemplate()} with {@code tid} in it. */
  public String issuerOfTenant(String tid) {
    return issuerTemplate().replace("{tenantid}", tid);
  }

  /**
   * A token of tenant {@code tid} as Entra issues it from a multi-tenant app: {@code iss} that
   * tenant's issuer, {@code tid} the tenant, signed with the active key.
   */
  public TokenBuilder tenantToken(String tid) {
    return token().issuer(issuerOfTenant(tid)).claim("tid", tid);
  }

  /** The key {@link #token()} signs with. */
  public SigningKey activeKey() {
    return active;
  }

  /**
   * Publishes a new key of the active key's type under a new kid and makes it the signing key; the
   * previous key stays published (as IdPs do during a rotation).
   */
  public SigningKey rotate() {
    SigningKey next = active.successor(active.kid() + "-r" + kidCounter.getAndIncrement());
    publish(next);
    activate(next);
    return next;
  }

  /**
   * Replaces every published key by a new one of the same type under a new kid (as after an
   * unannounced rotation: the old keys are gone at once); the first new key signs from now on.
   *
   * @return the new key ids, in the order the old keys were published
   */
  public List<String> replaceAllKeys() {
    synchronized (lock) {
      List<SigningKey> next = new ArrayList<>();
      for (SigningKey k : published) {
        next.add(k.successor(k.kid() + "-r" + kidCounter.getAndIncrement()));
      }
      published.clear();
      published.addAll(next);
      active = next.get(0);
      return keyIds();
    }
  }

  /** The key ids of the published keys, in publication order. */
  public List<String> keyIds() {
    synchronized (lock) {
      return published.stream().map(SigningKey::kid).toList();
    }
  }

  /** Adds {@code key} to the JWKS (it does not become the signing key). */
  public void publish(SigningKey key) {
    synchronized (lock) {
      published.add(key);
    }
  }

  /** Removes every key with {@code kid} from the JWKS. */
  public void unpublish(String kid) {
    synchronized (lock) {
      published.removeIf(k -> k.kid().equals(kid));
    }
  }

  /** Makes {@code key} the one {@link #token()} signs with (it need not be published). */
  public void activate(SigningKey key) {
    this.active = key;
  }

  /** The published public keys. */
  public JWKSet jwks() {
    synchronized (lock) {
      List<JWK> keys = new ArrayList<>();
      for (SigningKey k : published) {
        keys.add(k.publicJwk());
      }
      return new JWKSet(keys);
    }
  }

  /**
   * The JWKS document as served, {@code {"keys":[...]}}; with a tenant template each key carries
   * Entra's {@code issuer} member too.
   */
  public String jwksJson() {
    Map<String, Object> doc = jwks().toJSONObject(true);
    if (tenantTemplate != null && doc.get("keys") instanceof List<?> keys) {
      for (Object k : keys) {
        if (k instanceof Map<?, ?> m) {
          @SuppressWarnings("unchecked")
          Map<String, Object> key = (Map<String, Object>) m;
          key.put("issuer", issuerTemplate());
        }
      }
    }
    return JSONObjectUtils.toJSONString(doc);
  }

  // ---- misbehaviour ----

  /** Serves this exact body (status 200, JSON) as the JWKS instead of the published keys. */
  public void serveJwksBody(String body) {
    this.jwksBodyOverride = body;
  }

  /** Back to serving the published keys. */
  public void serveRealJwks() {
    this.jwksBodyOverride = null;
  }

  /**
   * Overrides members of the discovery document, e.g. {@code Map.of("issuer", "https://evil")}; a
   * null value removes the member. An empty map restores the real document.
   */
  public void discoveryOverrides(Map<String, Object> overrides) {
    this.discoveryOverrides = new LinkedHashMap<>(overrides);
  }

  /** Delays every JWKS response (to make concurrent fetches overlap). */
  public void jwksDelay(Duration delay) {
    this.jwksDelay = delay;
  }

  /** Starts an outage; {@link #comeBack()} ends it. */
  public void goDown(Outage kind) {
    synchronized (lock) {
      this.outage = kind;
      if (kind == Outage.REFUSE && server != null) {
        server.stop(0);
        server = null;
      }
    }
  }

  /** Ends an outage: serves again on the same port. */
  public void comeBack() {
    synchronized (lock) {
      this.outage = null;
      releaseHanging();
      if (server == null) {
        try {
          server = bind(port);
        } catch (IOException e) {
          throw new IllegalStateException("test issuer could not rebind port " + port, e);
        }
      }
    }
  }

  // ---- introspection (RFC 7662) ----

  /** The introspection endpoint: {@code <issuer>/introspect}. */
  public String introspectionUri() {
    return issuer() + "/introspect";
  }

  /** The client the introspection endpoint accepts (Basic or form credentials); default gate. */
  public void introspectionClient(String clientId, String secret) {
    this.introspectionClientId = clientId;
    this.introspectionClientSecret = secret;
  }

  /**
   * Makes {@code token} active: the endpoint answers {@code active: true} with {@code claims}
   * (nothing else added, so tests say exactly what the answer holds).
   */
  public void activate(String token, Map<String, Object> claims) {
    introspectable.put(token, new LinkedHashMap<>(claims));
  }

  /** Revokes {@code token}: from now on the endpoint answers {@code active: false}. */
  public void revoke(String token) {
    introspectable.remove(token);
  }

  /** Delays every introspection answer (to make concurrent calls overlap). */
  public void introspectionDelay(Duration delay) {
    this.introspectionDelay = delay;
  }

  /** Introspection requests received (answered or not). */
  public int introspectionRequests() {
    return introspectionRequests.get();
  }

  private void introspect(HttpExchange exchange) throws IOException {
    sleep(introspectionDelay);
    if (!"POST".equals(exchange.getRequestMethod())) {
      respond(exchange, 405, "{\"error\":\"invalid_request\"}", null);
      return;
    }
    Map<String, String> form = new LinkedHashMap<>();
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    for (String pair : body.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        form.put(
            java.net.URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    String id = form.get("client_id");
    String secret = form.get("client_secret");
    String basic = exchange.getRequestHeaders().getFirst("Authorization");
    if (basic != null && basic.startsWith("Basic ")) {
      String pair =
          new String(
              java.util.Base64.getDecoder().decode(basic.substring(6)), StandardCharsets.UTF_8);
      int colon = pair.indexOf(':');
      id = java.net.URLDecoder.decode(pair.substring(0, colon), StandardCharsets.UTF_8);
      secret = java.net.URLDecoder.decode(pair.substring(colon + 1), StandardCharsets.UTF_8);
    }
    if (!introspectionClientId.equals(id) || !introspectionClientSecret.equals(secret)) {
      respond(exchange, 401, "{\"error\":\"invalid_client\"}", null);
      return;
    }
    Map<String, Object> claims =
        form.get("token") == null ? null : introspectable.get(form.get("token"));
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("active", claims != null);
    if (claims != null) {
      answer.putAll(claims);
    }
    respond(exchange, 200, JSONObjectUtils.toJSONString(answer), null);
  }

  // ---- observation ----

  /** JWKS requests received (including those answered 304, 500 or not at all). */
  public int jwksRequests() {
    return jwksRequests.get();
  }

  /** Discovery requests received. */
  public int discoveryRequests() {
    return discoveryRequests.get();
  }

  /** {@link System#nanoTime()} of each discovery or JWKS request received, oldest first. */
  public List<Long> requestTimesNanos() {
    return List.copyOf(requestNanos);
  }

  /** Zeroes the request counters and forgets the request times. */
  public void resetCounts() {
    jwksRequests.set(0);
    discoveryRequests.set(0);
    requestNanos.clear();
  }

  /** Waits until {@code condition} holds, failing with {@code what} after {@code timeout}. */
  public static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what);
      }
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      if (server != null) {
        server.stop(0);
        server = null;
      }
      releaseHanging();
    }
    executor.shutdownNow();
  }

  // ---- serving ----

  private String basePath() {
    return issuerPath.endsWith("/") ? issuerPath.substring(0, issuerPath.length() - 1) : issuerPath;
  }

  private HttpServer bind(int onPort) throws IOException {
    InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), onPort);
    HttpServer s;
    if (https) {
      HttpsServer tls = HttpsServer.create(address, 64);
      tls.setHttpsConfigurator(new HttpsConfigurator(TestTls.get().serverContext()));
      s = tls;
    } else {
      s = HttpServer.create(address, 64);
    }
    s.setExecutor(executor);
    s.createContext("/", this::handle);
    s.start();
    return s;
  }

  private void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    boolean isJwks = path.equals(basePath() + "/keys");
    boolean isDiscovery = path.equals(basePath() + "/.well-known/openid-configuration");
    boolean isIntrospection = path.equals(basePath() + "/introspect");
    if (isIntrospection) {
      introspectionRequests.incrementAndGet();
    }
    if (isJwks) {
      jwksRequests.incrementAndGet();
    } else if (isDiscovery) {
      discoveryRequests.incrementAndGet();
    }
    if (isJwks || isDiscovery) {
      requestNanos.add(System.nanoTime());
    }
    Outage now = outage;
    if (now == Outage.HANG) {
      hanging.add(exchange);
      return;
    }
    if (now == Outage.CLOSE_CONNECTION) {
      // Closing an exchange before sending headers closes the TCP connection.
      exchange.close();
      return;
    }
    if (now == Outage.HTTP_500) {
      respond(exchange, 500, "{\"error\":\"server_error\"}", null);
      return;
    }
    if (isIntrospection) {
      introspect(exchange);
    } else if (isDiscovery) {
      respond(exchange, 200, JSONObjectUtils.toJSONString(discoveryDocument()), null);
    } else if (isJwks) {
      sleep(jwksDelay);
      String override = jwksBodyOverride;
      String body = override != null ? override : jwksJson();
      String etag = "\"" + sha256(body) + "\"";
      if (etag.equals(exchange.getRequestHeaders().getFirst("If-None-Match"))) {
        exchange.getResponseHeaders().set("ETag", etag);
        exchange.sendResponseHeaders(304, -1);
        exchange.close();
        return;
      }
      respond(exchange, 200, body, etag);
    } else {
      respond(exchange, 404, "{\"error\":\"not_found\"}", null);
    }
  }

  private Map<String, Object> discoveryDocument() {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("issuer", tenantTemplate == null ? issuer() : issuerTemplate());
    doc.put("jwks_uri", jwksUri());
    doc.put("authorization_endpoint", origin() + basePath() + "/authorize");
    doc.put("token_endpoint", origin() + basePath() + "/token");
    doc.put("introspection_endpoint", introspectionUri());
    doc.put("response_types_supported", List.of("code"));
    doc.put("subject_types_supported", List.of("public"));
    doc.put("id_token_signing_alg_values_supported", List.of("RS256", "ES256", "EdDSA"));
    if (tenantTemplate != null) {
      // Members of Entra's tenant-independent discovery documents.
      doc.put("tenant_region_scope", null);
      doc.put("cloud_instance_name", "microsoftonline.com");
      doc.put("userinfo_endpoint", "https://graph.microsoft.com/oidc/userinfo");
    }
    for (Map.Entry<String, Object> e : discoveryOverrides.entrySet()) {
      if (e.getValue() == null) {
        doc.remove(e.getKey());
      } else {
        doc.put(e.getKey(), e.getValue());
      }
    }
    return doc;
  }

  private static void respond(HttpExchange exchange, int status, String body, String etag)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    if (etag != null) {
      exchange.getResponseHeaders().set("ETag", etag);
    }
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private void releaseHanging() {
    HttpExchange e;
    while ((e = hanging.poll()) != null) {
      e.close();
    }
  }

  private static void sleep(Duration d) {
    if (d.isZero()) {
      return;
    }
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String sha256(String body) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(body.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
