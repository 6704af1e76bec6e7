package io.tokengate.operator.status;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A namespace being deleted: the API server refuses every new object in it (403, cause {@code
 * NamespaceTerminating}: "unable to create new content in namespace X because it is being
 * terminated") while it deletes what is there. For the operator that is an expected state, not a
 * failure: nothing it would create there is needed any more.
 */
public final class NamespaceTermination {
  /** The cause type the API server's NamespaceLifecycle admission attaches to that refusal. */
  static final String CAUSE = "NamespaceTerminating";

  private static final Logger LOG = LoggerFactory.getLogger(NamespaceTermination.class);

  /** Namespaces (by uid) whose deletion was logged: a bounded memory of one line each. */
  private final Set<String> logged =
      Collections.newSetFromMap(
          new LinkedHashMap<>() {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
              return size() > 1024;
            }
          });

  /**
   * Notes that {@code resource}'s namespace is being deleted, so nothing more is written for it:
   * one log line per namespace, the rest at debug level.
   */
  public void noted(Optional<Namespace> namespace, HasMetadata resource) {
    String name = resource.getMetadata().getNamespace();
    String key = namespace.map(n -> n.getMetadata().getUid()).orElse(name);
    boolean first;
    synchronized (logged) {
      first = logged.add(key);
    }
    if (first) {
      LOG.info(
          "namespace {} is being deleted: nothing more is rendered there for its {} resources"
              + " (the API server refuses new objects)",
          name,
          resource.getKind());
    } else {
      LOG.debug(
          "namespace {} is being deleted: {} {} left as it is",
          name,
          resource.getKind(),
          resource.getMetadata().getName());
    }
  }

  /** Whether {@code failure} (or one of its causes) is that refusal. */
  public static boolean refused(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof KubernetesClientException e && refusedHere(e)) {
        return true;
      }
    }
    return false;
  }

  private static boolean refusedHere(KubernetesClientException e) {
    if (e.getCode() != 403 && e.getCode() != 409) {
      return false;
    }
    var status = e.getStatus();
    if (status != null && status.getDetails() != null && status.getDetails().getCauses() != null) {
      if (status.getDetails().getCauses().stream().anyMatch(c -> CAUSE.equals(c.getReason()))) {
        return true;
      }
    }
    String message = status != null && status.getMessage() != null ? status.getMessage() : "";
    return message.contains("because it is being terminated");
  }

  /** Whether the namespace, as cached, is being deleted. */
  public static boolean terminating(Optional<Namespace> namespace) {
    return namespace
        .map(
            ns ->
                ns.getMetadata().getDeletionTimestamp() != null
                    || (ns.getStatus() != null && "Terminating".equals(ns.getStatus().getPhase())))
        .orElse(false);
  }
}
