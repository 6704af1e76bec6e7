package io.tokengate.api.v1alpha1.apipolicy;

/**
 * Whether tokens must be sender-constrained with DPoP (RFC 9449). A token bound to a key ({@code
 * cnf.jkt}) always needs its proof, whatever this says: a bound token is never accepted as a plain
 * bearer token.
 */
public enum Dpop {
  /** Bound tokens with the DPoP scheme and a valid proof, and unbound bearer tokens. */
  Allowed,
  /** Only DPoP-bound tokens with a valid proof; bearer tokens are refused. */
  Required
}
