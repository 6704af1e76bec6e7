package io.tokengate.sidecar.validation;

import java.util.List;

/**
 * The one failure type of the request path. It carries the HTTP status, the RFC 6750 error code for
 * the {@code WWW-Authenticate} challenge, a stable reason (a metric label and log field) and a
 * description that is safe to show a client: it never contains token contents or key material.
 */
public final class GateFailure extends RuntimeException {
  private final int status;
  private final String error;
  private final String reason;
  private final String description;
  private final List<String> requiredScopes;
  private final boolean dpop;

  private GateFailure(
      int status, String error, String reason, String description, List<String> requiredScopes) {
    this(status, error, reason, description, requiredScopes, false);
  }

  private GateFailure(
      int status,
      String error,
      String reason,
      String description,
      List<String> requiredScopes,
      boolean dpop) {
    super(reason + ": " + description, null, false, false);
    this.status = status;
    this.error = error;
    this.reason = reason;
    this.description = description;
    this.requiredScopes = requiredScopes;
    this.dpop = dpop;
  }

  /**
   * 401 {@code invalid_dpop_proof} (RFC 9449 section 7.1): the DPoP proof is missing, malformed, or
   * does not fit the token or the request. Challenged with the DPoP scheme.
   */
  public static GateFailure invalidDpopProof(String reason, String description) {
    return new GateFailure(401, "invalid_dpop_proof", reason, description, List.of(), true);
  }

  /**
   * 401 {@code invalid_token} answered with a DPoP challenge: a token whose presentation breaks the
   * DPoP rules (a bound token as a bearer token, an unbound one where DPoP is required).
   */
  public static GateFailure invalidDpopToken(String reason, String description) {
    return new GateFailure(401, "invalid_token", reason, description, List.of(), true);
  }

  /** 401 without an error code: the request carried no token (RFC 6750 section 3.1). */
  public static GateFailure missingToken() {
    return new GateFailure(401, null, "missing_token", "a bearer token is required", List.of());
  }

  /**
   * 401 {@code invalid_token}. {@code reason} is a short snake_case label such as {@code expired}.
   */
  public static GateFailure invalidToken(String reason, String description) {
    return new GateFailure(401, "invalid_token", reason, description, List.of());
  }

  /** 403 {@code insufficient_scope}, naming the scopes the rule needs. */
  public static GateFailure insufficientScope(List<String> scopes, String description) {
    return new GateFailure(
        403, "insufficient_scope", "insufficient_scope", description, List.copyOf(scopes));
  }

  /** 403 without a scope problem: a Deny rule, a role or claim requirement not met. */
  public static GateFailure forbidden(String reason, String description) {
    return new GateFailure(403, "insufficient_scope", reason, description, List.of());
  }

  /** 400 {@code invalid_request}: duplicate credentials, unparseable path and the like. */
  public static GateFailure invalidRequest(String reason, String description) {
    return new GateFailure(400, "invalid_request", reason, description, List.of());
  }

  /** Any other status (431 too large, 502 upstream down, 503 not ready, 504 upstream slow). */
  public static GateFailure of(int status, String reason, String description) {
    return new GateFailure(status, null, reason, description, List.of());
  }

  public int status() {
    return status;
  }

  /** RFC 6750 error code, or null when the challenge carries none. */
  public String error() {
    return error;
  }

  public String reason() {
    return reason;
  }

  public String description() {
    return description;
  }

  public List<String> requiredScopes() {
    return requiredScopes;
  }

  /** True when the client must be challenged with the DPoP scheme whatever it presented. */
  public boolean dpop() {
    return dpop;
  }
}
