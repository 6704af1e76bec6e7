package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.javaoperatorsdk.operator.api.config.informer.InformerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResourceConfigBuilder;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;

/**
 * The ConfigMap holding a policy's rendered sidecar configuration. What it should contain is
 * decided by {@link SidecarConfigRenderer} before this dependent runs and handed over in the
 * context; the ConfigMap is owned by the policy, so garbage collection removes it with the policy.
 */
public class SidecarConfigMapDependent
    extends CRUDKubernetesDependentResource<ConfigMap, ApiPolicy> {
  private static final String RENDERED = "tokengate.renderedConfigMap";

  public SidecarConfigMapDependent() {
    super(ConfigMap.class);
    configureWith(
        new KubernetesDependentResourceConfigBuilder<ConfigMap>()
            .withKubernetesDependentInformerConfig(
                InformerConfiguration.builder(ConfigMap.class)
                    .withName("sidecar-configmaps")
                    .withLabelSelector(
                        SidecarConfigRenderer.MANAGED_BY + "=" + SidecarConfigRenderer.MANAGER)
                    .build())
            .build());
  }

  /** Makes {@code desired} the ConfigMap of the policy being reconciled. */
  public void apply(ApiPolicy policy, ConfigMap desired, Context<ApiPolicy> context) {
    context.managedWorkflowAndDependentResourceContext().put(RENDERED, desired);
    reconcile(policy, context);
  }

  @Override
  protected ConfigMap desired(ApiPolicy policy, Context<ApiPolicy> context) {
    return context
        .managedWorkflowAndDependentResourceContext()
        .getMandatory(RENDERED, ConfigMap.class);
  }
}
