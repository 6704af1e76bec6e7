package io.tokengate.operator.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small OpenID Connect issuer on loopback for the reconciler tests: discovery and a JWKS with
 * real generated RSA and EC keys, key rotation, and ways to misbehave.
 */
public final class TestIdentityProvider implements AutoCloseable {
  /** What the issuer does wrong, if anything. */
  public enum Behaviour {
    CORRECT,
    SERVER_ERROR,
    WRONG_ISSUER,
    NOT_JSON
  }

  private final HttpServer server;
  private final String issuer;
  private volatile List<JWK> keys;
  private volatile Behaviour behaviour = Behaviour.CORRECT;
  private final AtomicInteger jwksRequests = new AtomicInteger();

  private TestIdentityProvider(HttpServer server) {
    this.server = server;
    this.issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/realms/test";
  }

  public static TestIdentityProvider start() {
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
      TestIdentityProvider idp = new TestIdentityProvider(server);
      idp.rotate();
      server.createContext("/realms/test/.well-known/openid-configuration", idp::discovery);
      server.createContext("/realms/test/protocol/openid-connect/certs", idp::jwks);
      server.start();
      return idp;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String issuer() {
    return issuer;
  }

  public String jwksUri() {
    return issuer + "/protocol/openid-connect/certs";
  }

  /** New keys (one RSA, one EC) with new key ids; the old ones are gone. */
  public List<String> rotate() {
    try {
      keys =
          List.of(
              new RSAKeyGenerator(2048)
                  .keyID("rsa-" + UUID.randomUUID().toString().substring(0, 8))
                  .keyUse(KeyUse.SIGNATURE)
                  .algorithm(JWSAlgorithm.RS256)
                  .generate(),
              new ECKeyGenerator(Curve.P_256)
                  .keyID("ec-" + UUID.randomUUID().toString().substring(0, 8))
                  .keyUse(KeyUse.SIGNATURE)
                  .algorithm(JWSAlgorithm.ES256)
                  .generate());
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    return keyIds();
  }

  public List<String> keyIds() {
    return keys.stream().map(JWK::getKeyID).toList();
  }

  public void behave(Behaviour behaviour) {
    this.behaviour = behaviour;
  }

  public int jwksRequests() {
    return jwksRequests.get();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private void discovery(HttpExchange exchange) throws IOException {
    String published = behaviour == Behaviour.WRONG_ISSUER ? issuer + "/other" : issuer;
    respond(exchange, "{\"issuer\":\"" + published + "\",\"jwks_uri\":\"" + jwksUri() + "\"}");
  }

  private void jwks(HttpExchange exchange) throws IOException {
    jwksRequests.incrementAndGet();
    respond(
        exchange,
        behaviour == Behaviour.NOT_JSON
            ? "<html>login</html>"
            : new JWKSet(keys).toPublicJWKSet().toString());
  }

  private void respond(HttpExchange exchange, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    int status = behaviour == Behaviour.SERVER_ERROR ? 503 : 200;
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }
}
