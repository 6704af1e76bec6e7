package io.tokengate.operator.issuer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;

/**
 * Talks to identity providers: OpenID Connect discovery and JWKS, over the JDK HTTP client with the
 * issuer's own CA trust. Blocking by design: it runs on the reconciler's worker threads, never on
 * an event loop.
 */
public final class IdentityProviderClient {
  static final String DISCOVERY_PATH = "/.well-known/openid-configuration";
  private static final int MAX_BODY_BYTES = 1 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Duration timeout;
  private final Map<String, HttpClient> clientsByTrust = new ConcurrentHashMap<>();

  public IdentityProviderClient(Duration timeout) {
    this.timeout = timeout;
  }

  /**
   * What discovery publishes that tokengate uses.
   *
   * @param jwksUri {@code jwks_uri}
   * @param introspectionEndpoint {@code introspection_endpoint}, or null
   */
  public record Discovery(String jwksUri, String introspectionEndpoint) {}

  /**
   * Discovery: the JWKS URI the issuer publishes. Its {@code issuer} must equal the spec's, or, for
   * a multi-tenant issuer ({@code spec.tenants}), the {@link IssuerTemplate} of the spec's issuer.
   */
  public String discoverJwksUri(TokenIssuerSpec spec, String caPem) {
    return discover(spec, caPem).jwksUri();
  }

  /** Discovery: its {@code issuer} must equal the spec's, and it must name a JWKS URI. */
  public Discovery discover(TokenIssuerSpec spec, String caPem) {
    String url = stripTrailingSlash(spec.issuer) + DISCOVERY_PATH;
    JsonNode doc;
    try {
      doc = JSON.readTree(get(url, caPem, Reasons.DISCOVERY_FAILED));
    } catch (IOException e) {
      throw new IssuerFailure(Reasons.DISCOVERY_FAILED, url + " did not return a JSON document");
    }
    String published = doc.path("issuer").asText(null);
    checkIssuer(spec, url, published);
    String jwksUri = doc.path("jwks_uri").asText(null);
    if (jwksUri == null || jwksUri.isBlank()) {
      throw new IssuerFailure(Reasons.DISCOVERY_FAILED, url + " publishes no jwks_uri");
    }
    String introspection = doc.path("introspection_endpoint").asText(null);
    return new Discovery(
        jwksUri, introspection == null || introspection.isBlank() ? null : introspection);
  }

  /**
   * Discovery's {@code issuer} against the spec. A template ({@code {tenantid}}) is accepted only
   * with {@code spec.tenants} and only when it is the template of {@code spec.issuer}'s own
   * authority, so a discovery document cannot widen the issuers trusted beyond what the spec names.
   */
  static void checkIssuer(TokenIssuerSpec spec, String url, String published) {
    Optional<IssuerTemplate> expectedTemplate = IssuerTemplate.of(spec);
    String expected = expectedTemplate.map(IssuerTemplate::template).orElse(spec.issuer);
    if (expected.equals(published)) {
      return;
    }
    Optional<IssuerTemplate> ownTemplate = IssuerTemplate.forIssuer(spec.issuer);
    if (IssuerTemplate.isTemplate(published) && expectedTemplate.isEmpty()) {
      if (ownTemplate.isPresent() && ownTemplate.get().template().equals(published)) {
        throw new IssuerFailure(
            Reasons.TENANTS_REQUIRED,
            "discovery at "
                + url
                + " names the issuer template '"
                + published
                + "': a multi-tenant issuer, whose tokens each name their own tenant in iss and"
                + " tid; no token is accepted until spec.tenants lists the tenant ids to accept,"
                + " or [\"*\"] for every tenant");
      }
      throw new IssuerFailure(
          Reasons.ISSUER_MISMATCH,
          "discovery at "
              + url
              + " names the issuer template '"
              + published
              + "', which is not the template of spec.issuer '"
              + spec.issuer
              + "'"
              + ownTemplate.map(t -> " (" + t.template() + ")").orElse("")
              + ": tokens would be refused; fix spec.issuer");
    }
    if (expectedTemplate.isPresent()) {
      throw new IssuerFailure(
          Reasons.ISSUER_MISMATCH,
          "discovery at "
              + url
              + " names issuer '"
              + published
              + "', not the template '"
              + expected
              + "' that spec.issuer '"
              + spec.issuer
              + "' with spec.tenants stands for: tokens would be refused; remove spec.tenants"
              + " for a single-tenant issuer, or fix spec.issuer");
    }
    throw new IssuerFailure(
        Reasons.ISSUER_MISMATCH,
        "discovery at "
            + url
            + " names issuer '"
            + published
            + "', not spec.issuer '"
            + spec.issuer
            + "': tokens would be refused; fix spec.issuer to match exactly");
  }

  /** Fetches and parses the JWKS at {@code jwksUri}. */
  public KeySet fetchKeys(String jwksUri, String caPem) {
    return KeySet.parse(get(jwksUri, caPem, Reasons.JWKS_FETCH_FAILED));
  }

  private String get(String url, String caPem, String reason) {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IssuerFailure(reason, "'" + url + "' is not a valid URL");
    }
    HttpRequest request =
        HttpRequest.newBuilder(uri)
            .timeout(timeout)
            .header("Accept", "application/json")
            .GET()
            .build();
    try {
      HttpResponse<InputStream> response =
          client(caPem).send(request, HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream body = response.body()) {
        byte[] bytes = body.readNBytes(MAX_BODY_BYTES + 1);
        if (response.statusCode() != 200) {
          throw new IssuerFailure(reason, url + " answered HTTP " + response.statusCode());
        }
        if (bytes.length > MAX_BODY_BYTES) {
          throw new IssuerFailure(reason, url + " returned more than 1 MiB");
        }
        return new String(bytes, StandardCharsets.UTF_8);
      }
    } catch (HttpTimeoutException e) {
      throw new IssuerFailure(
          reason, "no answer from " + url + " within " + timeout.toSeconds() + "s");
    } catch (SSLException e) {
      throw new IssuerFailure(
          reason,
          "TLS with "
              + url
              + " failed ("
              + e.getMessage()
              + "); set spec.caBundle or spec.caSecretRef if the issuer uses a private CA");
    } catch (ConnectException e) {
      throw new IssuerFailure(reason, "cannot connect to " + url + " (connection refused)");
    } catch (IOException e) {
      throw new IssuerFailure(reason, "cannot reach " + url + ": " + describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IssuerFailure(reason, "interrupted while fetching " + url);
    }
  }

  private HttpClient client(String caPem) {
    String key = caPem == null ? "" : KeySet.sha256(caPem);
    return clientsByTrust.computeIfAbsent(
        key,
        k ->
            HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .sslContext(IssuerTrust.sslContext(caPem))
                .build());
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }

  static String stripTrailingSlash(String issuer) {
    return issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
  }
}
