package io.tokengate.sidecar.validation;

import static io.tokengate.sidecar.validation.Validation.accepted;
import static io.tokengate.sidecar.validation.Validation.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** iss, aud, exp, nbf, iat, typ and the token shapes of the common identity providers. */
class TokenClaimsTest {
  private static Vertx vertx;
  private static SigningKey key;
  private static TestIssuer idp;
  private static JwtValidator validator;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    key = SigningKey.rsa("rsa-1");
    idp = TestIssuer.builder().key(key).start();
    validator = Validation.readyValidator(vertx, idp);
  }

  @AfterAll
  static void stop() {
    validator.close();
    idp.close();
    vertx.close();
  }

  private static Instant now() {
    return Instant.now();
  }

  @Test
  void issuerMustMatchExactly() {
    assertRejected(
        validator,
        idp.token().issuer("https://evil.example.com").sign(),
        RejectionReason.WRONG_ISSUER);
    assertRejected(
        validator, idp.token().issuer(idp.issuer() + "/").sign(), RejectionReason.WRONG_ISSUER);
    assertRejected(
        validator,
        idp.token().issuer(idp.issuer().replace("http", "HTTP")).sign(),
        RejectionReason.WRONG_ISSUER);
    assertRejected(validator, idp.token().issuer(null).sign(), RejectionReason.WRONG_ISSUER);
  }

  @Test
  void audienceStringOrArrayMustNameAnAcceptedAudience() {
    accepted(validator, idp.token().audience(TestIssuer.DEFAULT_AUDIENCE).sign());
    accepted(validator, idp.token().audienceArray(TestIssuer.DEFAULT_AUDIENCE).sign());
    accepted(validator, idp.token().audience("https://other", TestIssuer.DEFAULT_AUDIENCE).sign());
    assertRejected(
        validator, idp.token().audience("api://other").sign(), RejectionReason.WRONG_AUDIENCE);
    assertRejected(
        validator,
        idp.token().audience("api://a", "api://b").sign(),
        RejectionReason.WRONG_AUDIENCE);
    assertRejected(
        validator, idp.token().claim("aud", null).sign(), RejectionReason.WRONG_AUDIENCE);
    assertRejected(
        validator, idp.token().claim("aud", List.of()).sign(), RejectionReason.WRONG_AUDIENCE);
    // Prefixes and case variants are different audiences.
    assertRejected(
        validator,
        idp.token().audience(TestIssuer.DEFAULT_AUDIENCE.toUpperCase()).sign(),
        RejectionReason.WRONG_AUDIENCE);
  }

  @Test
  void expiryIsRequiredAndHonouredWithSkew() {
    assertRejected(validator, idp.token().withoutExpiry().sign(), RejectionReason.MISSING_EXP);
    assertRejected(
        validator,
        idp.token().expiresAt(now().minusSeconds(120)).issuedAt(now().minusSeconds(600)).sign(),
        RejectionReason.EXPIRED);
    // Default skew is 60 s: a token that expired 30 s ago still passes.
    accepted(validator, idp.token().expiresAt(now().minusSeconds(30)).sign());
  }

  @Test
  void notBeforeAndIssuedAtInTheFutureAreRefusedBeyondSkew() {
    assertRejected(
        validator,
        idp.token().notBefore(now().plusSeconds(120)).sign(),
        RejectionReason.NOT_YET_VALID);
    accepted(validator, idp.token().notBefore(now().plusSeconds(30)).sign());
    assertRejected(
        validator,
        idp.token().issuedAt(now().plusSeconds(120)).sign(),
        RejectionReason.ISSUED_IN_FUTURE);
    accepted(validator, idp.token().issuedAt(now().plusSeconds(30)).sign());
    accepted(validator, idp.token().issuedAt(null).sign());
  }

  @Test
  void zeroSkewIsExact() {
    TokenIssuerSpec spec = idp.spec();
    spec.clockSkewSeconds = 0;
    JwtValidator strict = Validation.readyValidator(vertx, spec, Validation.registry());
    try {
      assertRejected(
          strict, idp.token().expiresAt(now().minusSeconds(2)).sign(), RejectionReason.EXPIRED);
      assertRejected(
          strict,
          idp.token().notBefore(now().plusSeconds(5)).sign(),
          RejectionReason.NOT_YET_VALID);
      accepted(strict, idp.token().expiresIn(Duration.ofSeconds(30)).sign());
    } finally {
      strict.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"JWT", "jwt", "at+jwt", "application/at+jwt", "AT+JWT"})
  void acceptedTypes(String typ) {
    accepted(validator, idp.token().type(typ).sign());
  }

  @Test
  void absentTypeIsAccepted() {
    accepted(validator, idp.token().type(null).sign());
  }

  @ParameterizedTest
  @ValueSource(strings = {"JOSE", "id+jwt", "dpop+jwt", "logout+jwt", "", "application/jwt+x"})
  void otherTypesAreRefused(String typ) {
    assertRejected(validator, idp.token().type(typ).sign(), RejectionReason.UNSUPPORTED_TYPE);
  }

  @Test
  void aNonStringTypeIsRefused() {
    assertRejected(
        validator, idp.token().header("typ", 1).sign(), RejectionReason.UNSUPPORTED_TYPE);
  }

  @Test
  void clientIdComesFromAzpClientIdAppidOrCid() {
    assertThat(
            accepted(validator, idp.token().claim("azp", "spa").claim("cid", "x").sign())
                .clientId())
        .isEqualTo("spa");
    assertThat(accepted(validator, idp.token().claim("client_id", "svc").sign()).clientId())
        .isEqualTo("svc");
    assertThat(accepted(validator, idp.token().claim("appid", "app").sign()).clientId())
        .isEqualTo("app");
    assertThat(accepted(validator, idp.token().claim("cid", "okta").sign()).clientId())
        .isEqualTo("okta");
    assertThat(accepted(validator, idp.token().sign()).clientId()).isNull();
  }

  // ---- identity provider token shapes ----

  private static VerifiedToken acceptedBy(
      TestIssuer shaped, TokenIssuerSpec spec, String token, List<String> audiences) {
    PrometheusMeterRegistry registry = Validation.registry();
    JwtValidator v =
        JwtValidator.create(vertx, spec, audiences, Optional.empty(), registry, Validation.FAST);
    try {
      TestIssuer.await("keys of " + shaped.issuer(), Duration.ofSeconds(10), v::ready);
      return accepted(v, token);
    } finally {
      v.close();
    }
  }

  @Test
  void entraV1() {
    String tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    try (TestIssuer entra =
        TestIssuer.builder().issuerPath("/" + tid + "/").key(key.withoutAlgOnJwk()).start()) {
      // Entra v1 tokens name sts.windows.net, which serves no discovery: the JWKS URI is given.
      TokenIssuerSpec spec = entra.spec();
      spec.discovery = false;
      spec.jwksUri = entra.jwksUri();
      String token =
          entra
              .token()
              .audience("api://orders")
              .claim("appid", "1950a258-227b-4e31-a9cf-717495945fc2")
              .claim("scp", "orders.read orders.write")
              .claim("ver", "1.0")
              .claim("tid", tid)
              .claim("oid", "00000000-0000-0000-0000-000000000001")
              .sign();
      VerifiedToken t = acceptedBy(entra, spec, token, List.of("api://orders"));
      assertThat(t.issuer()).endsWith("/" + tid + "/");
      assertThat(t.clientId()).isEqualTo("1950a258-227b-4e31-a9cf-717495945fc2");
      assertThat(t.claims().getClaim("scp")).isEqualTo("orders.read orders.write");
      assertThat(entra.discoveryRequests()).isZero();
    }
  }

  @Test
  void entraV2() {
    String tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    try (TestIssuer entra =
        TestIssuer.builder().issuerPath("/" + tid + "/v2.0").key(key.withoutAlgOnJwk()).start()) {
      String token =
          entra
              .token()
              .audience("6e74172b-be56-4843-9ff4-e66a39bb12e3")
              .claim("azp", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c")
              .claim("scp", "orders.read")
              .claim("roles", List.of("Orders.Admin", "Orders.Reader"))
              .claim("ver", "2.0")
              .sign();
      VerifiedToken t =
          acceptedBy(entra, entra.spec(), token, List.of("6e74172b-be56-4843-9ff4-e66a39bb12e3"));
      assertThat(t.issuer()).endsWith("/v2.0");
      assertThat(t.clientId()).isEqualTo("c44b4083-3bb0-49c1-b47d-974e53cbdf3c");
      assertThat(t.claims().getClaim("roles")).isEqualTo(List.of("Orders.Admin", "Orders.Reader"));
    }
  }

  @Test
  void okta() {
    try (TestIssuer okta = TestIssuer.builder().issuerPath("/oauth2/default").key(key).start()) {
      String token =
          okta.token()
              .audience("api://default")
              .claim("scp", List.of("orders.read", "openid"))
              .claim("cid", "0oa1b2c3d4e5f6g7h8i9")
              .claim("uid", "00u1b2c3d4")
              .claim("ver", 1)
              .claim("jti", "AT.abc")
              .sign();
      VerifiedToken t = acceptedBy(okta, okta.spec(), token, List.of("api://default"));
      assertThat(t.clientId()).isEqualTo("0oa1b2c3d4e5f6g7h8i9");
      assertThat(t.claims().getClaim("scp")).isEqualTo(List.of("orders.read", "openid"));
    }
  }

  @Test
  void auth0() {
    // Auth0 issuers end with a slash; the token's iss must carry it too.
    try (TestIssuer auth0 = TestIssuer.builder().issuerPath("/").key(key).start()) {
      assertThat(auth0.issuer()).endsWith("/");
      String token =
          auth0
              .token()
              .audience("https://orders.example.com", auth0.issuer() + "userinfo")
              .claim("azp", "auth0-client")
              .claim("scope", "openid read:orders")
              .claim("permissions", List.of("read:orders", "write:orders"))
              .sign();
      VerifiedToken t =
          acceptedBy(auth0, auth0.spec(), token, List.of("https://orders.example.com"));
      assertThat(t.claims().getClaim("permissions"))
          .isEqualTo(List.of("read:orders", "write:orders"));
      assertThat(t.clientId()).isEqualTo("auth0-client");
    }
  }

  @Test
  void keycloak() throws java.text.ParseException {
    try (TestIssuer keycloak = TestIssuer.builder().issuerPath("/realms/corp").key(key).start()) {
      String token =
          keycloak
              .token()
              .type("JWT")
              .audience("account")
              .claim("typ", "Bearer")
              .claim("azp", "orders-frontend")
              .claim("scope", "openid profile orders.read")
              .claim("realm_access", Map.of("roles", List.of("orders-admin", "offline_access")))
              .claim("resource_access", Map.of("account", Map.of("roles", List.of("view-profile"))))
              .claim("preferred_username", "alice")
              .sign();
      VerifiedToken t = acceptedBy(keycloak, keycloak.spec(), token, List.of("account"));
      assertThat(t.clientId()).isEqualTo("orders-frontend");
      assertThat(t.claims().getClaim("typ")).isEqualTo("Bearer");
      assertThat(t.claims().getJSONObjectClaim("realm_access").get("roles"))
          .isEqualTo(List.of("orders-admin", "offline_access"));
    }
  }

  @Test
  void rfc9068AccessToken() {
    String token =
        idp.token()
            .type("at+jwt")
            .claim("client_id", "s6BhdRkqt3")
            .claim("jti", "dbe39bf3a3ba4238a513f51d6e1691c4")
            .claim("scope", "orders.read")
            .sign();
    VerifiedToken t = accepted(validator, token);
    assertThat(t.clientId()).isEqualTo("s6BhdRkqt3");
    assertThat(t.expiresAt()).isAfter(Instant.now());
  }
}
