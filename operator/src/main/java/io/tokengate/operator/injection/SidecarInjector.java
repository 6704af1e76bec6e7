package io.tokengate.operator.injection;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.operator.policy.PolicyPrecedence;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Decides whether a pod being created gets the tokengate sidecar, and answers the admission
 * request: allowed without a patch, allowed with the JSON Patch that injects the sidecar, or
 * refused with a message naming what to change. Pure: the namespace's policies and the API server's
 * capabilities are given, nothing here touches the network.
 *
 * <p>Decisions a user can rely on:
 *
 * <ul>
 *   <li>Never injected: the operator's own namespace, pods with {@code tokengate.io/inject:
 *       "false"}, hostNetwork pods (the sidecar's ports would be the node's), pods that already run
 *       the sidecar (so re-admission is a no-op).
 *   <li>Two policies selecting the pod: the older one applies (creationTimestamp, then name) and
 *       the response warns; the reconciler reports the same winner as Conflict on the other.
 *   <li>The applying policy has no rendered configuration yet (just created, or its issuer is not
 *       resolved): the pod is <em>refused</em>. Starting it without the sidecar would leave it
 *       unprotected; its controller retries with backoff and succeeds once the policy is ready.
 *   <li>A policy being deleted selects no new pod (deleting it is the user removing protection);
 *       the response warns when that leaves the pod without a sidecar.
 * </ul>
 */
public final class SidecarInjector {
  public static final String CONTAINER_NAME = "tokengate-sidecar";
  private static final Logger LOG = Logger.getLogger(SidecarInjector.class);

  private final SidecarSettings settings;
  private final PodMutation mutation;

  public SidecarInjector(SidecarTemplate template, SidecarSettings settings) {
    this.settings = settings;
    this.mutation = new PodMutation(template, settings);
  }

  /**
   * Answers a Pod admission request whose object is already a {@link Pod}.
   *
   * @param policies the ApiPolicies of the request's namespace
   * @param nativeSidecars the API server runs init containers with {@code restartPolicy: Always}
   */
  public AdmissionResponse admit(
      AdmissionRequest request, List<ApiPolicy> policies, boolean nativeSidecars) {
    return decide(request, policies, nativeSidecars).response();
  }

  /**
   * The answer to the admission request, and what the selecting policy's owner should hear about it
   * (nothing for a dry run, which must have no side effects).
   */
  public record Decision(AdmissionResponse response, List<PolicyNotice> notices) {}

  /** As {@link #admit}, with the notices for the policy concerned. */
  public Decision decide(
      AdmissionRequest request, List<ApiPolicy> policies, boolean nativeSidecars) {
    String uid = request.getUid();
    var kind = request.getKind();
    if (kind == null || !"".equals(kind.getGroup()) || !"Pod".equals(kind.getKind())) {
      return new Decision(
          Admission.deny(
              uid,
              400,
              "tokengate's sidecar injector admits Pods only, not %s: check the rules of the MutatingWebhookConfiguration"
                  .formatted(
                      kind == null
                          ? "a request without a kind"
                          : kind.getGroup() + "/" + kind.getVersion() + " " + kind.getKind())),
          List.of());
    }
    if (!"CREATE".equals(request.getOperation()) || !blank(request.getSubResource())) {
      return new Decision(Admission.allow(uid, List.of()), List.of());
    }
    if (!(request.getObject() instanceof Pod pod)) {
      return new Decision(
          Admission.deny(uid, 400, "the admission request carries no Pod object"), List.of());
    }
    String namespace =
        Optional.ofNullable(request.getNamespace()).orElse(pod.getMetadata().getNamespace());
    List<PolicyNotice> notices = new ArrayList<>();
    AdmissionResponse response;
    try {
      response = decide(uid, namespace, pod, policies, nativeSidecars, notices);
    } catch (InjectionRefused e) {
      response =
          Admission.deny(
              uid, 403, "tokengate: pod " + describe(namespace, pod) + ": " + e.getMessage());
    } catch (RuntimeException e) {
      LOG.errorf(e, "injection failed for pod %s", describe(namespace, pod));
      response =
          Admission.deny(
              uid,
              403,
              "tokengate could not inject its sidecar into this pod, so it is refused: " + e);
    }
    return new Decision(
        response, Boolean.TRUE.equals(request.getDryRun()) ? List.of() : List.copyOf(notices));
  }

  /**
   * Whether answering from {@code policies} would start a pod without the sidecar (or refuse it)
   * for want of a live, rendered policy selecting it. A view that lags the API server looks exactly
   * like that, so the caller then decides again from the API server's current policies: a policy
   * created and reported Ready before the pod is then always seen.
   */
  public boolean needsCurrentPolicies(AdmissionRequest request, List<ApiPolicy> policies) {
    var kind = request.getKind();
    if (kind == null
        || !"".equals(kind.getGroup())
        || !"Pod".equals(kind.getKind())
        || !"CREATE".equals(request.getOperation())
        || !blank(request.getSubResource())
        || !(request.getObject() instanceof Pod pod)) {
      return false;
    }
    String namespace =
        Optional.ofNullable(request.getNamespace()).orElse(pod.getMetadata().getNamespace());
    if ((namespace != null && namespace.equals(settings.operatorNamespace()))
        || pod.getSpec() == null
        || alreadyInjected(pod)
        || "false".equalsIgnoreCase(annotation(pod, ApiGroup.INJECT_ANNOTATION))
        || Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
      return false;
    }
    List<ApiPolicy> matching = PolicySelection.matching(policies, pod.getMetadata().getLabels());
    return matching.isEmpty() || !rendered(matching.get(0));
  }

  private static boolean rendered(ApiPolicy policy) {
    var status = policy.getStatus();
    return status != null && !blank(status.configMapName) && !blank(status.configHash);
  }

  private AdmissionResponse decide(
      String uid,
      String namespace,
      Pod pod,
      List<ApiPolicy> policies,
      boolean nativeSidecars,
      List<PolicyNotice> notices) {
    if (namespace != null && namespace.equals(settings.operatorNamespace())) {
      return Admission.allow(uid, List.of());
    }
    if (alreadyInjected(pod)) {
      return Admission.allow(uid, List.of());
    }
    Map<String, String> labels = pod.getMetadata().getLabels();
    List<ApiPolicy> matching = PolicySelection.matching(policies, labels);
    List<String> warnings = new ArrayList<>();
    if (matching.isEmpty()) {
      PolicySelection.deleting(policies, labels).stream()
          .findFirst()
          .ifPresent(
              p -> {
                warnings.add(
                    "ApiPolicy %s selecting this pod is being deleted: the pod starts without the tokengate sidecar"
                        .formatted(ref(p)));
                notices.add(
                    PolicyNotice.of(p, PolicyNotice.POD_NOT_INJECTED, namespace, pod, warnings));
              });
      return Admission.allow(uid, warnings);
    }
    ApiPolicy policy = matching.get(0);
    String optOut = annotation(pod, ApiGroup.INJECT_ANNOTATION);
    if ("false".equalsIgnoreCase(optOut)) {
      warnings.add(
          "%s=false: the pod starts without the tokengate sidecar although ApiPolicy %s selects it"
              .formatted(ApiGroup.INJECT_ANNOTATION, ref(policy)));
      return declined(
          uid, namespace, pod, policy, ApiGroup.NOT_INJECTED_OPTED_OUT, warnings, notices);
    }
    if (Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
      warnings.add(
          "hostNetwork pods are never injected: the pod starts without the tokengate sidecar although ApiPolicy %s selects it"
              .formatted(ref(policy)));
      return declined(
          uid, namespace, pod, policy, ApiGroup.NOT_INJECTED_HOST_NETWORK, warnings, notices);
    }
    try {
      return inject(uid, namespace, pod, policy, matching, nativeSidecars, warnings, notices);
    } catch (RuntimeException e) {
      notices.add(
          PolicyNotice.of(
              policy,
              PolicyNotice.INJECTION_REFUSED,
              namespace,
              pod,
              List.of(
                  "the pod is refused: "
                      + (e instanceof InjectionRefused ? e.getMessage() : e.toString()))));
      throw e;
    }
  }

  private AdmissionResponse inject(
      String uid,
      String namespace,
      Pod pod,
      ApiPolicy policy,
      List<ApiPolicy> matching,
      boolean nativeSidecars,
      List<String> warnings,
      List<PolicyNotice> notices) {
    matching.stream()
        .skip(1)
        .filter(other -> PolicyPrecedence.compete(policy, other))
        .forEach(
            other ->
                warnings.add(
                    "ApiPolicy %s also selects this pod; the older ApiPolicy %s applies (see the Conflict condition)"
                        .formatted(ref(other), ref(policy))));
    if (!rendered(policy)) {
      throw new InjectionRefused(
          ("ApiPolicy %s selects this pod but its sidecar configuration is not rendered yet (see"
                  + " `kubectl describe apipolicy -n %s %s`); the pod is refused rather than"
                  + " started unprotected, and its controller retries")
              .formatted(
                  ref(policy),
                  policy.getMetadata().getNamespace(),
                  policy.getMetadata().getName()));
    }
    PodMutation.Result injected = mutation.inject(pod, policy, nativeSidecars);
    warnings.addAll(injected.warnings());
    PodPatch patch = PodPatch.between(pod, injected.pod());
    LOG.debugf(
        "pod %s: sidecar of ApiPolicy %s (%d patch operations)",
        describe(namespace, pod), ref(policy), patch.operations().size());
    if (!warnings.isEmpty()) {
      notices.add(
          PolicyNotice.of(policy, PolicyNotice.INJECTED_WITH_WARNINGS, namespace, pod, warnings));
    }
    return Admission.patch(uid, patch, warnings, ref(policy));
  }

  /**
   * Admits a pod the policy selects without the sidecar, stamping why on it ({@code
   * tokengate.io/not-injected}): the pod informer sees metadata only, and this is how the policy's
   * census tells a pod a restart would not protect from one created before the policy.
   */
  private static AdmissionResponse declined(
      String uid,
      String namespace,
      Pod pod,
      ApiPolicy policy,
      String why,
      List<String> warnings,
      List<PolicyNotice> notices) {
    notices.add(PolicyNotice.of(policy, PolicyNotice.POD_NOT_INJECTED, namespace, pod, warnings));
    Pod stamped = PodMutation.copy(pod);
    Map<String, String> annotations = new java.util.LinkedHashMap<>();
    if (stamped.getMetadata().getAnnotations() != null) {
      annotations.putAll(stamped.getMetadata().getAnnotations());
    }
    annotations.put(ApiGroup.NOT_INJECTED_ANNOTATION, why);
    stamped.getMetadata().setAnnotations(annotations);
    return Admission.patch(uid, PodPatch.between(pod, stamped), warnings, ref(policy));
  }

  static boolean alreadyInjected(Pod pod) {
    return Stream.concat(
            Optional.ofNullable(pod.getSpec().getInitContainers()).orElse(List.of()).stream(),
            Optional.ofNullable(pod.getSpec().getContainers()).orElse(List.of()).stream())
        .map(Container::getName)
        .anyMatch(CONTAINER_NAME::equals);
  }

  private static String annotation(Pod pod, String key) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    return annotations == null ? null : annotations.get(key);
  }

  private static String ref(ApiPolicy policy) {
    return policy.getMetadata().getNamespace() + "/" + policy.getMetadata().getName();
  }

  private static String describe(String namespace, Pod pod) {
    String name = pod.getMetadata().getName();
    if (blank(name)) {
      name = Optional.ofNullable(pod.getMetadata().getGenerateName()).orElse("") + "*";
    }
    return namespace + "/" + name;
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
