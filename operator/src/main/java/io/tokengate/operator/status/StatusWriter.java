package io.tokengate.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import java.util.List;

/**
 * Writes a resource's next status and then reports its changed conditions as Events, in that order,
 * so that one transition is one Event.
 *
 * <p>A status returned through {@code UpdateControl.patchStatus} reaches the informer's cache only
 * when its watch event arrives. Any event in between (the NetworkPolicy the reconciliation just
 * applied, a pod, another policy) starts a reconciliation that still reads the old status, finds
 * the same conditions changed again and emits their Events a second time. Here the written status
 * is put into the cache at once (JOSDK's {@link PrimaryUpdateAndCacheUtils}), and Events are
 * emitted only once the status carrying the transition is written: a write that fails emits
 * nothing, and the retry reports the transition once.
 */
public final class StatusWriter {
  private final ResourceEvents events;

  public StatusWriter(ResourceEvents events) {
    this.events = events;
  }

  /**
   * Writes {@code next} as the status of {@code resource} unless it is the same, then emits one
   * Event per changed reason.
   *
   * @param resource the resource being reconciled, as read (its resourceVersion guards the write)
   */
  public <S, R extends CustomResource<?, S>> void write(
      R resource, S next, List<Condition> changed, Context<R> context) {
    if (!StatusComparison.same(resource.getStatus(), next)) {
      PrimaryUpdateAndCacheUtils.ssaPatchStatusAndCacheResource(
          resource, withStatus(resource, next), context);
    }
    events.conditionsChanged(resource, changed);
  }

  /** Only name, namespace and status: what server-side apply of the status should own. */
  @SuppressWarnings("unchecked")
  private static <S, R extends CustomResource<?, S>> R withStatus(R resource, S status) {
    R fresh;
    try {
      fresh = (R) resource.getClass().getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot instantiate " + resource.getClass(), e);
    }
    fresh.setMetadata(
        new ObjectMetaBuilder()
            .withName(resource.getMetadata().getName())
            .withNamespace(resource.getMetadata().getNamespace())
            .build());
    fresh.setStatus(status);
    return fresh;
  }
}
