package io.tokengate.e2e.idp;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The identity provider the e2e relies on issues the tokens the scenario assumes. */
@ExtendWith(KeycloakExtension.class)
class KeycloakIT {
  static Keycloak keycloak;

  @BeforeAll
  static void start(Keycloak shared) {
    keycloak = shared.awaitReady(Duration.ofMinutes(5));
  }

  @Test
  void discoveryNamesTheIssuerAndItsKeys() {
    var discovery = keycloak.discovery();
    assertThat(discovery.path("issuer").asText()).isEqualTo(keycloak.issuer());
    assertThat(discovery.path("jwks_uri").asText()).isEqualTo(keycloak.jwksUri());
    assertThat(keycloak.issuer()).startsWith("https://127.0.0.1:");
    assertThat(keycloak.signingKids()).isNotEmpty();
  }

  @Test
  void clientCredentialsTokensCarryTheOrdersAudienceAndOnlyTheRequestedScopes() {
    Jwt read = Jwt.decode(keycloak.clientCredentialsToken("orders.read"));
    assertThat(read.header().path("alg").asText()).isEqualTo("RS256");
    assertThat(read.issuer()).isEqualTo(keycloak.issuer());
    assertThat(read.audiences()).contains(Keycloak.ORDERS_AUDIENCE);
    assertThat(read.scopes()).contains("orders.read").doesNotContain("orders.admin");
    assertThat(read.claims().path("azp").asText()).isEqualTo(Keycloak.ORDERS_CLIENT);
    assertThat(read.claims().path("sub").asText()).isNotBlank();
    assertThat(keycloak.signingKids()).contains(read.kid());

    Jwt none = Jwt.decode(keycloak.clientCredentialsToken());
    assertThat(none.scopes()).doesNotContain("orders.read", "orders.admin");
    assertThat(none.audiences()).contains(Keycloak.ORDERS_AUDIENCE);

    Jwt other =
        Jwt.decode(
            keycloak.clientCredentialsTokenOf(
                Keycloak.REPORTS_CLIENT, Keycloak.REPORTS_CLIENT_SECRET, "orders.read"));
    assertThat(other.audiences()).doesNotContain(Keycloak.ORDERS_AUDIENCE);
  }

  @Test
  void passwordGrantTokensCarryTheUsersRealmRole() {
    Jwt user =
        Jwt.decode(keycloak.passwordToken(Keycloak.USER, Keycloak.USER_PASSWORD, "orders.admin"));
    assertThat(user.issuer()).isEqualTo(keycloak.issuer());
    assertThat(user.audiences()).contains(Keycloak.ORDERS_AUDIENCE);
    assertThat(user.realmRoles()).contains(Keycloak.USER_ROLE);
    assertThat(user.scopes()).contains("orders.admin");
    assertThat(user.claims().path("azp").asText()).isEqualTo(Keycloak.CLI_CLIENT);
  }

  @Test
  void rotatingKeysChangesTheSigningKid() {
    String before = Jwt.decode(keycloak.clientCredentialsToken("orders.read")).kid();
    String rotated = keycloak.rotateKeys();
    assertThat(rotated).isNotEqualTo(before);
    assertThat(keycloak.signingKids()).contains(rotated).doesNotContain(before);
    assertThat(Jwt.decode(keycloak.clientCredentialsToken("orders.read")).kid()).isEqualTo(rotated);
  }
}
