package io.tokengate.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Emits core/v1 Events about tokengate resources (what {@code kubectl describe} shows). The reason
 * of an Event is the reason of the condition it reports. Failing to record an Event never fails a
 * reconciliation.
 */
public final class ResourceEvents {
  private static final Logger LOG = LoggerFactory.getLogger(ResourceEvents.class);
  private static final String COMPONENT = "tokengate-operator";

  private final KubernetesClient client;
  private final String eventNamespaceForClusterResources;
  private final Clock clock;

  /**
   * The API server accepts Events about cluster-scoped objects only in {@code default} (where
   * {@code kubectl describe} looks for them too); elsewhere it refuses them with "does not match
   * event.namespace".
   */
  static final String CLUSTER_SCOPED_EVENT_NAMESPACE = "default";

  public ResourceEvents(KubernetesClient client, Clock clock) {
    this.client = client;
    this.eventNamespaceForClusterResources = CLUSTER_SCOPED_EVENT_NAMESPACE;
    this.clock = clock;
  }

  /**
   * One Event per reason among the conditions whose status or reason changed: two conditions that
   * change for one reason (Ready and Protected both {@code PodsNeedRestart}) are one Event naming
   * both, not two Events of the same reason.
   */
  public void conditionsChanged(HasMetadata resource, List<Condition> changed) {
    Map<String, List<Condition>> byReason = new LinkedHashMap<>();
    changed.forEach(c -> byReason.computeIfAbsent(c.getReason(), r -> new ArrayList<>()).add(c));
    byReason.forEach(
        (reason, conditions) ->
            record(
                resource,
                conditions.stream().anyMatch(ResourceEvents::warning),
                reason,
                conditions.stream()
                    .map(c -> c.getType() + "=" + c.getStatus() + ": " + c.getMessage())
                    .collect(Collectors.joining("; "))));
  }

  private static boolean warning(Condition c) {
    return ("Ready".equals(c.getType()) || "IssuerResolved".equals(c.getType()))
            && "False".equals(c.getStatus())
        || (("Conflict".equals(c.getType()) || "BypassRisk".equals(c.getType()))
            && "True".equals(c.getStatus()));
  }

  /** Creates one Event; returns its name, or null when it could not be recorded. */
  public String record(HasMetadata resource, boolean warning, String reason, String message) {
    String namespace = resource.getMetadata().getNamespace();
    if (namespace == null) {
      namespace = eventNamespaceForClusterResources;
    }
    String now = Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
    var event =
        new EventBuilder()
            .withNewMetadata()
            .withNamespace(namespace)
            .withName(
                resource.getMetadata().getName()
                    + "."
                    + UUID.randomUUID().toString().substring(0, 13).replace("-", ""))
            .endMetadata()
            .withInvolvedObject(
                new ObjectReferenceBuilder()
                    .withApiVersion(resource.getApiVersion())
                    .withKind(resource.getKind())
                    .withName(resource.getMetadata().getName())
                    .withNamespace(resource.getMetadata().getNamespace())
                    .withUid(resource.getMetadata().getUid())
                    .withResourceVersion(resource.getMetadata().getResourceVersion())
                    .build())
            .withReason(reason)
            .withMessage(truncate(message))
            .withType(warning ? "Warning" : "Normal")
            .withFirstTimestamp(now)
            .withLastTimestamp(now)
            .withCount(1)
            .withNewSource(COMPONENT, null)
            .withReportingComponent(COMPONENT)
            .withReportingInstance(COMPONENT)
            .build();
    try {
      client.v1().events().inNamespace(namespace).resource(event).create();
      return event.getMetadata().getName();
    } catch (KubernetesClientException e) {
      if (NamespaceTermination.refused(e)) {
        // The namespace is being deleted, and the resource with it: nobody will read the Event.
        LOG.debug("no event {} in namespace {}: it is being deleted", reason, namespace);
        return null;
      }
      LOG.warn(
          "cannot record event {} on {} {}: {}",
          reason,
          resource.getKind().toLowerCase(Locale.ROOT),
          resource.getMetadata().getName(),
          e.getMessage());
      return null;
    }
  }

  private static String truncate(String message) {
    return message == null || message.length() <= 1024
        ? message
        : message.substring(0, 1021) + "...";
  }
}
