package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.Namespace;
import java.util.Map;
import java.util.Optional;

/**
 * Whether a namespace admits the init container of {@code interception: Redirect} (root with {@code
 * NET_ADMIN}). Pod Security admission runs after the webhook, so in a namespace that enforces
 * {@code baseline} or {@code restricted} every injected pod is refused by the API server: the
 * policy says so instead of reporting a protection no pod can have. A namespace without the label
 * follows the cluster's default level, which the operator cannot read: it is assumed to admit it.
 */
final class RedirectAdmission {
  static final String ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

  private RedirectAdmission() {}

  /** Why pods with the redirect init container are refused in {@code namespace}, if they are. */
  static Optional<String> refusal(Namespace namespace) {
    Map<String, String> labels =
        namespace.getMetadata().getLabels() == null
            ? Map.of()
            : namespace.getMetadata().getLabels();
    String level = labels.get(ENFORCE_LABEL);
    if (level == null || level.equals("privileged")) {
      return Optional.empty();
    }
    return Optional.of(
        ("namespace %s enforces Pod Security '%s' (label %s), which refuses the redirect init"
                + " container (root with NET_ADMIN): the API server refuses every injected pod. Use"
                + " interception NetworkPolicy or Loopback, or a namespace at level 'privileged'")
            .formatted(namespace.getMetadata().getName(), level, ENFORCE_LABEL));
  }
}
