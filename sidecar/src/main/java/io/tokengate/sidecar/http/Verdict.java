package io.tokengate.sidecar.http;

import io.tokengate.sidecar.authz.AccessRule;
import io.tokengate.sidecar.authz.RequestPath;
import io.tokengate.sidecar.metrics.GateMetrics;
import io.tokengate.sidecar.validation.GateFailure;
import io.tokengate.sidecar.validation.VerifiedToken;

/**
 * What the gate does with one request and why, as {@link GateDecision} decides it, together with
 * what it learnt on the way (the decision log and the challenges read them). Immutable: each step
 * of the decision, and each answer that overrides it, makes a new one.
 *
 * @param action what happens next
 * @param decision {@link GateMetrics#ALLOW}, {@link GateMetrics#DENY} or {@link
 *     GateMetrics#AUDIT_DENY}: the metric label and log field
 * @param reason why, e.g. {@code allow_rule}, {@code authenticated} or a refusal's reason
 * @param failure with {@link Action#REFUSE}, the answer
 * @param close with {@link Action#REFUSE}, nothing more is read from the connection (its framing is
 *     in doubt); it is closed once the answer is written
 * @param path the normalised path, or null when the target was not (or could not be) normalised
 * @param rule the rule that matched, or null when no rule was consulted
 * @param credential the token as presented, or null when none was read
 * @param token the verified token, or null
 */
record Verdict(
    Verdict.Action action,
    String decision,
    String reason,
    GateFailure failure,
    boolean close,
    RequestPath path,
    AccessRule rule,
    TokenSources.Credential credential,
    VerifiedToken token) {

  /** What happens next. */
  enum Action {
    /** {@link #failure} is answered; nothing is forwarded. */
    REFUSE,
    /** The policy's RFC 9728 resource metadata is answered. */
    SERVE_METADATA,
    /** The token of {@link #credential} is validated, then {@link GateDecision} decides on. */
    AUTHENTICATE,
    /** The request goes to the application. */
    FORWARD
  }

  /** Refused before the path was normalised. */
  static Verdict refused(GateFailure f, boolean close) {
    return new Verdict(
        Action.REFUSE, GateMetrics.DENY, f.reason(), f, close, null, null, null, null);
  }

  /**
   * A request at a normalised path, before the steps that decide: each returns a verdict with its
   * own action (the one held here is what an Authenticated rule leads to, until a step says more).
   */
  static Verdict at(RequestPath path) {
    return new Verdict(Action.AUTHENTICATE, null, null, null, false, path, null, null, null);
  }

  /** Refused with {@code f}, keeping what was learnt. */
  Verdict refuse(GateFailure f) {
    return new Verdict(
        Action.REFUSE, GateMetrics.DENY, f.reason(), f, false, path, rule, credential, token);
  }

  /** Forwarded, recorded as {@code decision} for {@code reason}. */
  Verdict forward(String decision, String reason) {
    return new Verdict(
        Action.FORWARD, decision, reason, null, false, path, rule, credential, token);
  }

  /** The policy's resource metadata is answered. */
  Verdict serveMetadata() {
    return new Verdict(
        Action.SERVE_METADATA,
        GateMetrics.ALLOW,
        "resource_metadata",
        null,
        false,
        path,
        rule,
        credential,
        token);
  }

  /** The credential's token is validated next. */
  Verdict authenticate() {
    return new Verdict(Action.AUTHENTICATE, null, null, null, false, path, rule, credential, token);
  }

  Verdict withRule(AccessRule r) {
    return new Verdict(action, decision, reason, failure, close, path, r, credential, token);
  }

  Verdict withCredential(TokenSources.Credential c) {
    return new Verdict(action, decision, reason, failure, close, path, rule, c, token);
  }

  Verdict withToken(VerifiedToken t) {
    return new Verdict(action, decision, reason, failure, close, path, rule, credential, t);
  }
}
