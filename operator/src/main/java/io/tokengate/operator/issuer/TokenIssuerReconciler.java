package io.tokengate.operator.issuer;

import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;

/** Reconciles namespaced TokenIssuers; a CA Secret is read from the issuer's namespace. */
@ControllerConfiguration(name = "tokenissuer")
public class TokenIssuerReconciler extends IssuerReconciliation<TokenIssuer> {
  public TokenIssuerReconciler(IssuerServices services) {
    super(services);
  }

  @Override
  protected String secretNamespace(TokenIssuer issuer) {
    return issuer.getMetadata().getNamespace();
  }
}
