package io.tokengate.operator.issuer;

import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;

/** Reconciles ClusterTokenIssuers; a CA Secret is read from the operator's namespace. */
@ControllerConfiguration(name = "clustertokenissuer")
public class ClusterTokenIssuerReconciler extends IssuerReconciliation<ClusterTokenIssuer> {
  private final String operatorNamespace;

  public ClusterTokenIssuerReconciler(IssuerServices services, String operatorNamespace) {
    super(services);
    this.operatorNamespace = operatorNamespace;
  }

  @Override
  protected String secretNamespace(ClusterTokenIssuer issuer) {
    return operatorNamespace;
  }
}
