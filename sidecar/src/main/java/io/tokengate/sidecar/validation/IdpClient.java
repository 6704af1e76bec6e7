package io.tokengate.sidecar.validation;

import com.nimbusds.jose.util.JSONObjectUtils;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The non-blocking HTTP side of talking to one identity provider: OpenID Connect discovery and JWKS
 * downloads. Uses the Vert.x core HTTP client directly (rather than WebClient) so a response body
 * can be refused while it streams in once it exceeds the size limit. Redirects are not followed: a
 * redirect could lead from HTTPS to plain HTTP or to another host, and IdPs serve these documents
 * directly.
 */
final class IdpClient {
  /** A JWKS response: 304 ({@code keys == null}) or 200 with the key objects and ETag. */
  record JwksDocument(List<Map<String, Object>> keys, String etag) {
    boolean notModified() {
      return keys == null;
    }
  }

  /** A failed exchange with the IdP; the message names the URL and what went wrong. */
  static final class IdpException extends RuntimeException {
    IdpException(String message) {
      super(message, null, false, false);
    }
  }

  private record Response(int status, String etag, Buffer body) {}

  private final Vertx vertx;
  private final HttpClientAgent http;
  private final boolean allowInsecureHttp;
  private final long timeoutMillis;
  private final int maxBytes;

  IdpClient(
      Vertx vertx, String caBundle, boolean allowInsecureHttp, long timeoutMillis, int maxBytes) {
    this(vertx, caBundle, allowInsecureHttp, timeoutMillis, maxBytes, 2, -1);
  }

  /**
   * @param connections the most connections to the IdP at once
   * @param waitQueue requests waiting for a connection beyond which a request fails at once (-1:
   *     unbounded)
   */
  IdpClient(
      Vertx vertx,
      String caBundle,
      boolean allowInsecureHttp,
      long timeoutMillis,
      int maxBytes,
      int connections,
      int waitQueue) {
    this.vertx = vertx;
    this.allowInsecureHttp = allowInsecureHttp;
    this.timeoutMillis = timeoutMillis;
    this.maxBytes = maxBytes;
    HttpClientOptions options =
        new HttpClientOptions()
            .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis))
            .setVerifyHost(true)
            .setKeepAlive(true)
            .setMaxRedirects(0);
    if (caBundle != null) {
      options.setTrustOptions(
          new PemTrustOptions().addCertValue(Buffer.buffer(caBundle, "US-ASCII")));
    }
    this.http =
        vertx.createHttpClient(
            options, new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(waitQueue));
  }

  /**
   * Fetches {@code <issuer>/.well-known/openid-configuration} and returns its {@code jwks_uri},
   * after checking that its {@code issuer} equals {@code expected} exactly: {@code issuer} itself,
   * or a multi-tenant issuer's template.
   */
  Future<String> discoverJwksUri(String issuer, String expected) {
    String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
    String url = base + "/.well-known/openid-configuration";
    return get(url, null)
        .map(
            response -> {
              if (response.status() != 200) {
                throw new IdpException("discovery " + url + " answered HTTP " + response.status());
              }
              Map<String, Object> doc = parseJson(response.body(), url);
              Object advertised = doc.get("issuer");
              if (!expected.equals(advertised)) {
                boolean template = advertised instanceof String s && IssuerTemplate.isTemplate(s);
                throw new IdpException(
                    "discovery "
                        + url
                        + " names issuer "
                        + (advertised instanceof String s ? "'" + s + "'" : "none")
                        + ", expected exactly '"
                        + expected
                        + "'"
                        + (template && expected.equals(issuer)
                            ? " (a multi-tenant issuer: set spec.tenants)"
                            : ""));
              }
              if (!(doc.get("jwks_uri") instanceof String jwksUri) || jwksUri.isBlank()) {
                throw new IdpException("discovery " + url + " has no jwks_uri");
              }
              checkScheme(jwksUri, "jwks_uri of " + url);
              return jwksUri;
            });
  }

  /**
   * Fetches discovery and returns its {@code introspection_endpoint}, after checking its {@code
   * issuer} as {@link #discoverJwksUri} does.
   */
  Future<String> discoverIntrospectionEndpoint(String issuer) {
    String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
    String url = base + "/.well-known/openid-configuration";
    return get(url, null)
        .map(
            response -> {
              if (response.status() != 200) {
                throw new IdpException("discovery " + url + " answered HTTP " + response.status());
              }
              Map<String, Object> doc = parseJson(response.body(), url);
              if (!issuer.equals(doc.get("issuer"))) {
                throw new IdpException(
                    "discovery " + url + " does not name issuer '" + issuer + "' exactly");
              }
              if (!(doc.get("introspection_endpoint") instanceof String endpoint)
                  || endpoint.isBlank()) {
                throw new IdpException(
                    "discovery "
                        + url
                        + " has no introspection_endpoint; set spec.introspection.endpoint");
              }
              checkScheme(endpoint, "introspection_endpoint of " + url);
              return endpoint;
            });
  }

  /**
   * POSTs the form {@code body} to {@code url} with the optional {@code authorization} header and
   * answers the JSON object of a 200; any other status fails naming it (never the body, which may
   * echo credentials).
   */
  Future<Map<String, Object>> postForm(String url, String body, String authorization) {
    RequestOptions request;
    try {
      checkScheme(url, url);
      request = options(url, HttpMethod.POST);
    } catch (RuntimeException e) {
      return Future.failedFuture(
          e instanceof IdpException idp ? idp : new IdpException(url + " is not a valid URL"));
    }
    request.putHeader("Content-Type", "application/x-www-form-urlencoded");
    if (authorization != null) {
      request.putHeader("Authorization", authorization);
    }
    return exchange(url, request, Buffer.buffer(body, "UTF-8"))
        .map(
            response -> {
              if (response.status() != 200) {
                throw new IdpException(url + " answered HTTP " + response.status());
              }
              return parseJson(response.body(), url);
            });
  }

  /** Fetches the JWKS at {@code url}; with {@code etag}, a 304 yields a not-modified document. */
  Future<JwksDocument> fetchJwks(String url, String etag) {
    return get(url, etag)
        .map(
            response -> {
              if (response.status() == 304 && etag != null) {
                return new JwksDocument(null, etag);
              }
              if (response.status() != 200) {
                throw new IdpException("JWKS " + url + " answered HTTP " + response.status());
              }
              Map<String, Object> doc = parseJson(response.body(), url);
              if (!(doc.get("keys") instanceof List<?> list)) {
                throw new IdpException("JWKS " + url + " has no keys array");
              }
              List<Map<String, Object>> keys = new ArrayList<>();
              for (Object item : list) {
                if (item instanceof Map<?, ?> m) {
                  @SuppressWarnings("unchecked")
                  Map<String, Object> key = (Map<String, Object>) m;
                  keys.add(key);
                }
              }
              return new JwksDocument(keys, response.etag());
            });
  }

  void close() {
    http.close();
  }

  /** Refuses plain HTTP unless the issuer allows it. */
  void checkScheme(String url, String what) {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new IdpException(what + " is not a valid URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
    if (scheme.equals("https") || (scheme.equals("http") && allowInsecureHttp)) {
      if (uri.getHost() == null) {
        throw new IdpException(what + " has no host: " + url);
      }
      return;
    }
    throw new IdpException(
        what
            + " must be an https:// URL (plain http only with spec.allowInsecureHttp), got "
            + url);
  }

  private RequestOptions options(String url, HttpMethod method) {
    return new RequestOptions()
        .setMethod(method)
        .setAbsoluteURI(url)
        .setFollowRedirects(false)
        .setConnectTimeout(timeoutMillis)
        .setIdleTimeout(timeoutMillis)
        .putHeader("Accept", "application/json")
        .putHeader("User-Agent", "tokengate-sidecar");
  }

  private Future<Response> get(String url, String etag) {
    RequestOptions request;
    try {
      request = options(url, HttpMethod.GET);
    } catch (RuntimeException e) {
      return Future.failedFuture(new IdpException(url + " is not a valid URL"));
    }
    if (etag != null) {
      request.putHeader("If-None-Match", etag);
    }
    return exchange(url, request, null);
  }

  private Future<Response> exchange(String url, RequestOptions request, Buffer payload) {
    try {
      checkScheme(url, url);
    } catch (IdpException e) {
      return Future.failedFuture(e);
    }
    Promise<Response> promise = Promise.promise();
    HttpClientRequest[] sent = new HttpClientRequest[1];
    long timer =
        vertx.setTimer(
            timeoutMillis,
            id -> {
              if (promise.tryFail(
                  new IdpException(url + " did not answer within " + timeoutMillis + " ms"))) {
                if (sent[0] != null) {
                  sent[0].reset();
                }
              }
            });
    promise.future().onComplete(ar -> vertx.cancelTimer(timer));
    http.request(request)
        .onFailure(e -> promise.tryFail(wrap(url, e)))
        .onSuccess(
            req -> {
              sent[0] = req;
              (payload == null ? req.send() : req.send(payload))
                  .onFailure(e -> promise.tryFail(wrap(url, e)))
                  .onSuccess(
                      resp -> {
                        String length = resp.getHeader("Content-Length");
                        if (length != null && tooLarge(length)) {
                          promise.tryFail(
                              new IdpException(url + " answered more than " + maxBytes + " bytes"));
                          req.reset();
                          return;
                        }
                        Buffer body = Buffer.buffer();
                        resp.exceptionHandler(e -> promise.tryFail(wrap(url, e)));
                        resp.handler(
                            chunk -> {
                              if (body.length() + chunk.length() > maxBytes) {
                                if (promise.tryFail(
                                    new IdpException(
                                        url + " answered more than " + maxBytes + " bytes"))) {
                                  req.reset();
                                }
                              } else {
                                body.appendBuffer(chunk);
                              }
                            });
                        resp.endHandler(
                            v ->
                                promise.tryComplete(
                                    new Response(resp.statusCode(), resp.getHeader("ETag"), body)));
                      });
            });
    return promise.future();
  }

  private boolean tooLarge(String contentLength) {
    try {
      return Long.parseLong(contentLength.trim()) > maxBytes;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static IdpException wrap(String url, Throwable e) {
    String detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return new IdpException(url + ": " + detail);
  }

  private static Map<String, Object> parseJson(Buffer body, String url) {
    try {
      Map<String, Object> json = JSONObjectUtils.parse(body.toString(StandardCharsets.UTF_8));
      if (json == null) {
        throw new IdpException(url + " did not answer a JSON object");
      }
      return json;
    } catch (ParseException | RuntimeException e) {
      if (e instanceof IdpException idp) {
        throw idp;
      }
      throw new IdpException(url + " did not answer a JSON object");
    }
  }
}
