package io.tokengate.sidecar.http;

import io.tokengate.api.v1alpha1.apipolicy.RequestHandling.EscapedSlashes;
import io.tokengate.sidecar.authz.AccessRule;
import io.tokengate.sidecar.authz.ClaimValues;
import io.tokengate.sidecar.authz.RequestPath;
import io.tokengate.sidecar.metrics.GateMetrics;
import io.tokengate.sidecar.validation.GateFailure;
import io.tokengate.sidecar.validation.VerifiedToken;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the gate decides for one request, without I/O: from its head (normalised path, matching
 * rule, token sources) a {@link Verdict} that refuses it, serves the resource metadata, forwards
 * it, or names the token to validate; then, from the verified token (its DPoP binding and the
 * rule's requirements), whether it is forwarded. In Audit mode every denial is forwarded and
 * recorded as {@code audit_deny}; what cannot be forwarded safely (an unreadable head, a path that
 * cannot be normalised, a claim that cannot be a header value) is refused in either mode.
 *
 * <p>It reads the policy and the request's parts and nothing else, so it is tested without sockets
 * (GateDecisionTest); {@link GateHandler} runs it and {@link UpstreamCall} acts on it.
 */
final class GateDecision {
  private GateDecision() {}

  /**
   * The verdict on a request head.
   *
   * @param p the policy in force, or null when none is loaded
   * @param head the head as {@link InboundHeaders} read it (null without a policy)
   */
  static Verdict onHead(
      ActivePolicy p, HttpMethod method, String uri, MultiMap headers, InboundHeaders head) {
    if (p == null) {
      return Verdict.refused(GateFailure.of(503, "not_ready", "no configuration is loaded"), false);
    }
    if (head.refused != null) {
      return Verdict.refused(head.refused.failure(), head.refused.close());
    }
    if (head.bytes > p.maxHeaderBytes()) {
      return Verdict.refused(
          GateFailure.of(
              431,
              "headers_too_large",
              "the request headers exceed " + p.maxHeaderBytes() + " bytes"),
          false);
    }
    RequestPath path;
    try {
      path = RequestPath.parse(uri, p.requestHandling().escapedSlashes() == EscapedSlashes.Keep);
    } catch (RequestPath.InvalidPathException e) {
      return Verdict.refused(GateFailure.of(400, "invalid_path", e.getMessage()), false);
    }
    Verdict found = Verdict.at(path);
    String decidingMethod = method.name();
    if (head.methodOverride != null) {
      if (!InboundHeaders.isUpperToken(head.methodOverride)) {
        return found.refuse(
            GateFailure.of(
                400, "invalid_method", "the method override must be an upper-case token"));
      }
      decidingMethod = head.methodOverride;
    }
    ProtectedResourceMetadata metadata = p.resourceMetadata();
    if (metadata != null && metadata.path().equals(path.path())) {
      // Answered to anyone, without a token (it is what a client reads to learn where to get
      // one), and never forwarded.
      if (method != HttpMethod.GET && method != HttpMethod.HEAD) {
        return found.refuse(
            GateFailure.of(
                405, "method_not_allowed", "the resource metadata is read with GET or HEAD"));
      }
      return found.serveMetadata();
    }
    if (p.allowCorsPreflight()
        && method == HttpMethod.OPTIONS
        && headers.contains(HttpHeaders.ORIGIN)
        && headers.contains(HttpHeaders.ACCESS_CONTROL_REQUEST_METHOD)) {
      return found.forward(GateMetrics.ALLOW, "cors_preflight");
    }
    AccessRule rule = p.rules().match(decidingMethod, path);
    Verdict matched = found.withRule(rule);
    return switch (rule.action()) {
      case Allow -> matched.forward(GateMetrics.ALLOW, "allow_rule");
      case Deny ->
          deny(p, matched, GateFailure.of(403, "deny_rule", "the policy denies this request"));
      default -> presented(p, matched, headers);
    };
  }

  /** An Authenticated rule: the token as presented, before its validation. */
  private static Verdict presented(ActivePolicy p, Verdict matched, MultiMap headers) {
    TokenSources.Credential credential;
    try {
      credential = p.tokenSources().credential(headers, matched.path().query());
    } catch (GateFailure f) {
      return deny(p, matched, f);
    }
    if (credential == null) {
      return deny(p, matched, GateFailure.missingToken());
    }
    Verdict presented = matched.withCredential(credential);
    if (credential.token().length() > p.maxTokenBytes()) {
      return deny(
          p,
          presented,
          GateFailure.of(
              431, "token_too_large", "the token exceeds " + p.maxTokenBytes() + " bytes"));
    }
    if (!p.validator().ready()) {
      return deny(
          p,
          presented,
          GateFailure.of(
              503, "keys_not_loaded", "the issuer's signing keys are not loaded yet; retry"));
    }
    return presented.authenticate();
  }

  /**
   * The verdict once the token of an {@link Verdict.Action#AUTHENTICATE} verdict verified: how it
   * was presented (DPoP), then what the rule requires of it.
   *
   * @param proofs the request's {@code DPoP} header values
   * @param method the request's method (not an override: the proof signs what was sent)
   * @param url the URL the request was sent to, without query; only read for the {@code DPoP}
   *     scheme
   */
  static Verdict onToken(
      ActivePolicy p,
      Verdict pending,
      VerifiedToken token,
      List<String> proofs,
      String method,
      String url) {
    Verdict v = pending.withToken(token);
    TokenSources.Credential credential = v.credential();
    try {
      p.dpop().check(token, credential.token(), credential.dpop(), proofs, method, url);
    } catch (GateFailure unmet) {
      return deny(p, v, unmet);
    }
    if (v.rule().requirement() != null) {
      GateFailure unmet = v.rule().requirement().check(token);
      if (unmet != null) {
        return deny(p, v, unmet);
      }
    }
    return v.forward(GateMetrics.ALLOW, "authenticated");
  }

  /** The verdict when the token of an {@link Verdict.Action#AUTHENTICATE} verdict was refused. */
  static Verdict onRejectedToken(ActivePolicy p, Verdict pending, GateFailure f) {
    return deny(p, pending, f);
  }

  /** A policy decision against the request: refused, or in Audit mode recorded and forwarded. */
  static Verdict deny(ActivePolicy p, Verdict v, GateFailure f) {
    return p.audit() ? v.forward(GateMetrics.AUDIT_DENY, f.reason()) : v.refuse(f);
  }

  /**
   * The claim headers of a forwarded request (header name and value as it travels) and its verdict:
   * unchanged, refused for a claim that cannot be a header value, or in Audit mode recorded as
   * {@code audit_deny} and forwarded without that header.
   */
  record Claims(Verdict verdict, List<Map.Entry<String, String>> headers) {}

  /** The claim headers {@code p} forwards from the token of {@code forward}. */
  static Claims claims(ActivePolicy p, Verdict forward) {
    VerifiedToken token = forward.token();
    if (token == null || p.claimHeaders().isEmpty()) {
      return new Claims(forward, List.of());
    }
    Verdict v = forward;
    List<Map.Entry<String, String>> headers = new ArrayList<>(p.claimHeaders().size());
    for (ActivePolicy.ClaimHeader h : p.claimHeaders()) {
      String value = ClaimValues.headerValue(ClaimValues.lookup(token.claims(), h.claim()));
      if (value == null) {
        continue;
      }
      if (!HopByHop.isSafeValue(value)) {
        if (p.audit()) {
          v = v.forward(GateMetrics.AUDIT_DENY, "unforwardable_claim");
          continue;
        }
        return new Claims(
            v.refuse(
                GateFailure.invalidToken(
                    "unforwardable_claim",
                    "claim '"
                        + h.claim()
                        + "' holds characters that cannot be forwarded in a header")),
            List.of());
      }
      headers.add(Map.entry(h.header(), wireForm(value)));
    }
    return new Claims(v, headers);
  }

  /**
   * Header values travel as bytes; Vert.x writes each char as one byte, so non-ASCII text is turned
   * into its UTF-8 bytes first (what applications reading headers as UTF-8 expect).
   */
  static String wireForm(String value) {
    for (int i = 0; i < value.length(); i++) {
      if (value.charAt(i) > 0x7e) {
        return new String(value.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
      }
    }
    return value;
  }
}
