package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The policy index fed by fabric8 informers on ApiPolicy (every replica runs its own: the webhook
 * is not leader-elected), indexed by namespace. With watched namespaces set, only those are
 * watched, like the reconcilers do: a policy elsewhere is never rendered, so it must not select
 * pods either.
 */
public final class InformerPolicyIndex implements PolicyIndex, AutoCloseable {
  private final List<SharedIndexInformer<ApiPolicy>> informers = new ArrayList<>();
  private final KubernetesClient client;
  private final Optional<Set<String>> watched;

  public InformerPolicyIndex(KubernetesClient client, Optional<Set<String>> watchedNamespaces) {
    this.client = client;
    this.watched = watchedNamespaces.filter(w -> !w.isEmpty());
    var policies = client.resources(ApiPolicy.class);
    if (watchedNamespaces.isEmpty() || watchedNamespaces.get().isEmpty()) {
      informers.add(policies.inAnyNamespace().runnableInformer(0));
    } else {
      watchedNamespaces
          .get()
          .forEach(ns -> informers.add(policies.inNamespace(ns).runnableInformer(0)));
    }
  }

  /** Starts watching; the index is {@link #synced()} once every first list completed. */
  public InformerPolicyIndex start() {
    informers.forEach(SharedIndexInformer::start);
    return this;
  }

  @Override
  public boolean synced() {
    return informers.stream().allMatch(SharedIndexInformer::hasSynced);
  }

  @Override
  public List<ApiPolicy> inNamespace(String namespace) {
    List<ApiPolicy> out = new ArrayList<>();
    for (SharedIndexInformer<ApiPolicy> informer : informers) {
      out.addAll(informer.getIndexer().byIndex(Cache.NAMESPACE_INDEX, namespace));
    }
    return out;
  }

  /**
   * A list without a resourceVersion: the API server answers it consistently (from etcd, or from
   * its watch cache only once that cache is proven current), so it includes every policy whose
   * status anyone has already read as Ready.
   */
  @Override
  public List<ApiPolicy> current(String namespace) {
    if (watched.isPresent() && !watched.get().contains(namespace)) {
      return List.of();
    }
    return client.resources(ApiPolicy.class).inNamespace(namespace).list().getItems();
  }

  @Override
  public void close() {
    informers.forEach(SharedIndexInformer::close);
  }
}
