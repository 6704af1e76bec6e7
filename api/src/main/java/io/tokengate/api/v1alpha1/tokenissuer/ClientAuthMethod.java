package io.tokengate.api.v1alpha1.tokenissuer;

/**
 * How the sidecar authenticates to the introspection endpoint (the OAuth token endpoint
 * authentication method names of RFC 7591).
 */
public enum ClientAuthMethod {
  /** HTTP Basic with the form-encoded client id and secret (RFC 6749 section 2.3.1). */
  client_secret_basic,
  /** {@code client_id} and {@code client_secret} in the form body. */
  client_secret_post
}
