package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;

/**
 * The pod cache keeps metadata only, without managedFields: what the counting needs and no more, so
 * that 10,000 pods cost little heap. The API server already sends only metadata (the pod informer
 * asks for PartialObjectMetadata); this also holds against a server that ignores that.
 */
final class PodMetadataStore extends BasicItemStore<Pod> {
  PodMetadataStore() {
    super(Cache::metaNamespaceKeyFunc);
  }

  @Override
  public Pod put(String key, Pod pod) {
    pod.setSpec(null);
    pod.setStatus(null);
    pod.getMetadata().setManagedFields(null);
    return super.put(key, pod);
  }
}
