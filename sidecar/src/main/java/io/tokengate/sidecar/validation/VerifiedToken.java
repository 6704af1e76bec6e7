package io.tokengate.sidecar.validation;

import com.nimbusds.jwt.JWTClaimsSet;
import java.time.Instant;

/**
 * A token whose signature, issuer, audience and lifetime were checked.
 *
 * @param claims the verified claims
 * @param issuer the {@code iss} claim
 * @param subject {@code sub}, may be null
 * @param clientId the client: {@code azp}, {@code client_id}, {@code appid} or {@code cid}, may be
 *     null
 * @param expiresAt {@code exp}
 * @param trustedIssuer the {@code spec.issuer} of the issuer that verified it: {@code issuer}
 *     itself, except for a multi-tenant issuer, whose tokens each name their tenant's issuer
 */
public record VerifiedToken(
    JWTClaimsSet claims,
    String issuer,
    String subject,
    String clientId,
    Instant expiresAt,
    String trustedIssuer) {

  /** A token of an issuer whose {@code spec.issuer} is its {@code iss}. */
  public VerifiedToken(
      JWTClaimsSet claims, String issuer, String subject, String clientId, Instant expiresAt) {
    this(claims, issuer, subject, clientId, expiresAt, issuer);
  }
}
