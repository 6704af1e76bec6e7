package io.tokengate.sidecar.validation;

import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The validator of a policy that trusts several issuers: a token goes to the one validator whose
 * issuer its {@code iss} names, read before any signature is checked, so no key of one issuer is
 * ever tried on another's token and a token of an unknown issuer causes no key fetch. It is ready
 * as soon as one issuer's keys are loaded: a policy keeps serving the tokens of its ready issuers
 * while another is unreachable (those tokens get that validator's 503 until its keys arrive). A
 * token that is not a JWT goes to the first issuer with {@code spec.introspection}.
 *
 * <p>A multi-tenant issuer is keyed by its {@link IssuerTemplate}: an {@code iss} that is no
 * trusted issuer exactly goes to the template it is an instance of (a canonical tenant id in place
 * of {@code {tenantid}}, nothing else), which then checks {@code tid} and the allowed tenants.
 */
public final class IssuerRouter implements TokenValidator {
  private final Map<String, TokenValidator> byIssuer;
  private final List<Map.Entry<IssuerTemplate, TokenValidator>> byTemplate;
  private final TokenValidator first;
  private final TokenValidator opaque;

  private IssuerRouter(Map<String, TokenValidator> byIssuer) {
    this.byIssuer = byIssuer;
    List<Map.Entry<IssuerTemplate, TokenValidator>> templates = new ArrayList<>();
    byIssuer.forEach(
        (key, v) -> {
          if (IssuerTemplate.isTemplate(key)) {
            templates.add(Map.entry(IssuerTemplate.parse(key), v));
          }
        });
    this.byTemplate = List.copyOf(templates);
    this.first = byIssuer.values().iterator().next();
    this.opaque =
        byIssuer.values().stream()
            .filter(IntrospectingValidator.class::isInstance)
            .findFirst()
            .orElse(null);
  }

  /**
   * A validator over {@code byIssuer} (routing key → its validator: the issuer identifier, or a
   * multi-tenant issuer's template, see {@link IssuerTemplate#routingKey}; no {@code iss} matches
   * two keys); with one issuer, that issuer's validator itself.
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
    TokenValidator v = IssuerTemplate.isTemplate(iss) ? null : byIssuer.get(iss);
    for (int i = 0; v == null && i < byTemplate.size(); i++) {
      if (byTemplate.get(i).getKey().tenantOf(iss) != null) {
        v = byTemplate.get(i).getValue();
      }
    }
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
