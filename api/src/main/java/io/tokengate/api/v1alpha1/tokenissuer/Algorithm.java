package io.tokengate.api.v1alpha1.tokenissuer;

import java.util.List;

/**
 * The JWS algorithms an issuer may be allowed to use. Only asymmetric ones: a sidecar never holds a
 * shared secret, so HMAC and {@code none} cannot be listed at all.
 */
public enum Algorithm {
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  ES512,
  EdDSA;

  public static final List<Algorithm> DEFAULTS = List.of(values());
}
