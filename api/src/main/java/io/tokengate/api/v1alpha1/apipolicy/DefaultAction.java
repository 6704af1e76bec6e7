package io.tokengate.api.v1alpha1.apipolicy;

/** What happens to a request that no rule matches. */
public enum DefaultAction {
  /** A valid token is required, nothing more. */
  Authenticated,
  /** The request is refused (403). */
  Deny
}
