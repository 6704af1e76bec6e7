/**
 * Bearer-token validation for the sidecar: compact JWS access tokens checked against one issuer's
 * keys, without ever blocking an event loop.
 *
 * <ul>
 *   <li>{@link io.tokengate.sidecar.validation.JwtValidator} — the {@link
 *       io.tokengate.sidecar.validation.TokenValidator} the HTTP side calls; its javadoc lists the
 *       factories and every check in order.
 *   <li>{@link io.tokengate.sidecar.validation.JwksCache} — one issuer's keys: from the operator's
 *       snapshot (no polling; the IdP only for an unknown {@code kid}, jittered), or else discovery
 *       and JWKS refresh with jitter; coalesced rate-limited refetch on an unknown {@code kid},
 *       stale-if-error with exponential backoff. Can be shared by several validators (e.g. across
 *       configuration reloads).
 *   <li>{@link io.tokengate.sidecar.validation.RejectionReason} — the stable reason labels.
 *   <li>{@link io.tokengate.sidecar.validation.ValidationTuning} — intervals, timeouts, cache size.
 * </ul>
 *
 * Logging goes through {@link java.lang.System.Logger} (java.util.logging unless configured
 * otherwise) and names issuers, URLs, key ids and reasons, never tokens or key material.
 */
package io.tokengate.sidecar.validation;
