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
 */
public record VerifiedToken(
    JWTClaimsSet claims, String issuer, String subject, String clientId, Instant expiresAt) {}
