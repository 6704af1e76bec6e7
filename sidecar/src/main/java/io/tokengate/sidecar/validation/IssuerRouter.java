package io.tokengate.sidecar.validation;

import io.tokengate.sidecar.GateFailure;
import io.vertx.core.Future;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The validator of a policy that trusts several issuers: a token goes to the one validator whose
 * issuer its {@code iss} names, read before any signature is checked, so no key of one issuer is
 * ever tried on another's token and a token of an unknown issuer causes no key fetch. It is ready
 * as soon as one issuer's keys are loaded: a policy keeps serving the tokens of its ready issuers
 * while another is unreachable (those tokens get that validator's 503 until its keys arrive). A
 * token that is not a JWT goes to the first issuer with {@code spec.introspection}.
 */
public final class IssuerRouter implements TokenValidator {
  private final Map<String, TokenValidator> byIssuer;
  private final TokenValidator first;
  private final TokenValidator opaque;

  private IssuerRouter(Map<String, TokenValidator> byIssuer) {
    this.byIssuer = byIssuer;
    this.first = byIssuer.values().iterator().next();
    this.opaque =
        byIssuer.values().stream()
            .filter(IntrospectingValidator.class::isInstance)
            .findFirst()
            .orElse(null);
  }

  /**
   * A validator over {@code byIssuer} (issuer identifier → its validator, distinct identifiers);
   * with one issuer, that issuer's validator itself.
   */
  public static TokenValidator of(Map<String, TokenValidator> byIssuer) {
    if (byIssuer.isEmpty()) {
      throw new IllegalArgumentException("a policy trusts at least one issuer");
    }
    if (byIssuer.size() == 1) {
      return byIssuer.values().iterator().next();
    }
    return new IssuerRouter(new LinkedHashMap<>(byIssuer));
  }

  @Override
  public Future<VerifiedToken> validate(String token) {
    String iss = CompactJws.peekIssuer(token);
    if (iss == null) {
      if (opaque != null && token != null && IntrospectingValidator.opaque(token)) {
        // An opaque token names no issuer: the first issuer that introspects is asked.
        return opaque.validate(token);
      }
      // Not a routable token: any issuer's validator refuses it before looking at keys.
      return first.validate(token);
    }
    TokenValidator v = byIssuer.get(iss);
    if (v == null) {
      return Future.failedFuture(
          GateFailure.invalidToken(
              RejectionReason.WRONG_ISSUER, "the token is from an issuer this API does not trust"));
    }
    return v.validate(token);
  }

  @Override
  public boolean ready() {
    for (TokenValidator v : byIssuer.values()) {
      if (v.ready()) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    byIssuer.values().forEach(TokenValidator::close);
  }
}
