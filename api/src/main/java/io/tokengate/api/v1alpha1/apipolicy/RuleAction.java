package io.tokengate.api.v1alpha1.apipolicy;

/** What a matching rule does. */
public enum RuleAction {
  /** No token needed (public paths such as health checks). */
  Allow,
  /** A valid token is needed, plus whatever the rule's {@code require} says. */
  Authenticated,
  /** Refused (403), whatever the token. */
  Deny
}
