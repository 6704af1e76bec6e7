package io.tokengate.api.v1alpha1.tokenissuer;

/** Which tokens of an issuer are checked at its RFC 7662 introspection endpoint. */
public enum IntrospectionMode {
  /** Only tokens that are not JWTs; JWTs are validated locally with the issuer's keys. */
  OpaqueOnly,
  /**
   * Opaque tokens, and JWTs too after their local validation passed: a revoked JWT (a logged-out
   * session) is refused before it expires, at the cost of one IdP call per token and cache period.
   */
  Always
}
