package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.operator.issuer.IssuerSnapshots;
import io.tokengate.operator.status.NamespaceTermination;
import io.tokengate.operator.status.ResourceEvents;
import io.tokengate.operator.status.StatusConditions;
import io.tokengate.operator.status.StatusWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reconciles ApiPolicies: resolves the issuer, renders the sidecar configuration into the policy's
 * ConfigMap, counts the pods, and reports Ready, IssuerResolved, Conflict and BypassRisk.
 *
 * <p>Deletion never leaves an injected pod unprotected: the finalizer keeps the policy while pods
 * still run its sidecar, and its ConfigMap is rendered deny-all meanwhile (the sidecars reload it
 * and refuse every request instead of forwarding unchecked).
 */
@ControllerConfiguration(name = "apipolicy", finalizerName = ApiPolicyReconciler.FINALIZER)
public class ApiPolicyReconciler implements Reconciler<ApiPolicy>, Cleaner<ApiPolicy> {
  public static final String FINALIZER = "tokengate.io/deny-while-injected";
  static final Duration KEYS_PENDING_RETRY = Duration.ofSeconds(5);
  static final Duration DELETION_RECHECK = Duration.ofSeconds(30);

  private final IssuerSnapshots snapshots;
  private final StatusWriter status;
  private final NamespaceTermination endingNamespaces = new NamespaceTermination();

  private final PolicyStatusComposer composer;
  private final PolicySecondaryResources secondary;
  private final SidecarConfigMapDependent configMaps = new SidecarConfigMapDependent();
  private final int listenPort;
  private final int adminPort;

  /**
   * @param listenPort the sidecar's listen port and {@code adminPort} its admin port: what a
   *     policy's NetworkPolicy keeps open
   */
  public ApiPolicyReconciler(
      KubernetesClient podMetadataClient,
      IssuerSnapshots snapshots,
      ResourceEvents events,
      Clock clock,
      int listenPort,
      int adminPort) {
    this.listenPort = listenPort;
    this.adminPort = adminPort;
    this.snapshots = snapshots;
    this.status = new StatusWriter(events);
    this.composer = new PolicyStatusComposer(clock);
    this.secondary = new PolicySecondaryResources(podMetadataClient);
  }

  @Override
  public List<EventSource<?, ApiPolicy>> prepareEventSources(
      EventSourceContext<ApiPolicy> context) {
    List<EventSource<?, ApiPolicy>> sources = new ArrayList<>(secondary.eventSources(context));
    sources.add(configMaps.eventSource(context).orElseThrow());
    return sources;
  }

  @Override
  public UpdateControl<ApiPolicy> reconcile(ApiPolicy policy, Context<ApiPolicy> context) {
    String namespace = policy.getMetadata().getNamespace();
    Optional<Namespace> ns = secondary.namespace(namespace);
    if (NamespaceTermination.terminating(ns)) {
      endingNamespaces.noted(ns, policy);
      return UpdateControl.noUpdate();
    }
    PolicyIssuers resolution;
    try {
      resolution =
          PolicyIssuers.of(
              policy, secondary::issuer, snapshots, ClientSecrets.reading(context.getClient()));
      String specProblem = specProblem(policy, resolution);
      String configHash = null;
      if (specProblem == null && resolution.renderable()) {
        ConfigMap desired = SidecarConfigRenderer.render(policy, trusted(resolution));
        configMaps.apply(policy, desired, context);
        configHash = SidecarConfigRenderer.configHash(desired.getData());
      }
      List<ApiPolicy> policies = secondary.policies(namespace);
      List<Pod> pods = secondary.pods(namespace);
      PodCensus census = PodCensus.take(policy, pods, policies, PodCensus.injectionEnabled(ns));
      Interception interception = interception(policy, context, pods, policies, census);
      BypassRisk.Findings bypass =
          BypassRisk.find(policy, secondary.services(namespace), census.matchedLabels());
      var composed =
          composer.compose(
              policy, resolution, configHash, specProblem, census, bypass, interception);
      if (policy.getStatus() == null
          || !policy.getMetadata().getGeneration().equals(policy.getStatus().observedGeneration)) {
        secondary.reevaluate(namespace, rivalsToRecheck(policy, census, policies));
      }
      if (configHash != null) {
        composed.status().clientSecrets = resolution.clientSecrets();
      } else if (policy.getStatus() != null) {
        // Not rendered now: the pods keep being injected with the last rendered configuration.
        composed.status().clientSecrets = policy.getStatus().clientSecrets;
      }
      status.write(policy, composed.status(), composed.changed(), context);
    } catch (RuntimeException e) {
      if (!NamespaceTermination.refused(e)) {
        throw e;
      }
      // The namespace informer had not seen the deletion yet: the API server says it.
      endingNamespaces.noted(ns, policy);
      return UpdateControl.noUpdate();
    }
    // Keys not loaded yet (e.g. just after a leader change), or a client Secret not created yet
    // (Secrets are not watched): look again soon.
    return resolution.keysPending() || resolution.clientSecretMissing()
        ? UpdateControl.<ApiPolicy>noUpdate().rescheduleAfter(KEYS_PENDING_RETRY)
        : UpdateControl.noUpdate();
  }

  @Override
  public DeleteControl cleanup(ApiPolicy policy, Context<ApiPolicy> context) {
    String namespace = policy.getMetadata().getNamespace();
    List<ApiPolicy> policies = secondary.policies(namespace);
    PodCensus census =
        PodCensus.take(
            policy,
            secondary.pods(namespace),
            policies,
            PodCensus.injectionEnabled(secondary.namespace(namespace)));
    if (census.injectedAnywhere() == 0) {
      secondary.reevaluate(namespace, rivalsToRecheck(policy, census, policies));
      return DeleteControl.defaultDelete();
    }
    try {
      denyAll(policy, context).ifPresent(cm -> configMaps.apply(policy, cm, context));
    } catch (RuntimeException e) {
      if (!NamespaceTermination.refused(e)) {
        throw e;
      }
      // Its ConfigMap is gone with the namespace's content and cannot be created again; the
      // namespace's pods, the injected ones included, are being deleted too.
      endingNamespaces.noted(secondary.namespace(namespace), policy);
    }
    var composed = composer.deleting(policy, census);
    status.write(policy, composed.status(), composed.changed(), context);
    return DeleteControl.noFinalizerRemoval().rescheduleAfter(DELETION_RECHECK);
  }

  /**
   * Renders, applies or removes the policy's NetworkPolicy, and finds the other NetworkPolicies
   * that re-admit the application port.
   */
  private Interception interception(
      ApiPolicy policy,
      Context<ApiPolicy> context,
      List<Pod> pods,
      List<ApiPolicy> policies,
      PodCensus census) {
    String namespace = policy.getMetadata().getNamespace();
    String name = policy.getMetadata().getName();
    var current = secondary.networkPolicy(namespace, InterceptionNetworkPolicy.name(name));
    boolean wanted =
        policy.getSpec().interception
            == io.tokengate.api.v1alpha1.apipolicy.Interception.NetworkPolicy;
    Optional<NetworkPolicy> desired =
        wanted
            ? Optional.of(
                InterceptionNetworkPolicy.desired(
                    policy,
                    listenPort,
                    adminPort,
                    pods.stream().filter(p -> injectedBy(p, name)).toList(),
                    InterceptionNetworkPolicy.narrowerAppPorts(policy, policies)))
            : Optional.empty();
    NetworkPolicyDependent.reconcile(context.getClient(), desired, current);
    Optional<String> redirectRefused =
        policy.getSpec().interception == io.tokengate.api.v1alpha1.apipolicy.Interception.Redirect
            ? secondary.namespace(namespace).flatMap(RedirectAdmission::refusal)
            : Optional.empty();
    return new Interception(
        policy.getSpec().interception,
        desired.isPresent(),
        NetworkPolicyBypass.find(
            policy, secondary.networkPolicies(namespace), census.matchedLabels()),
        redirectRefused);
  }

  private static boolean injectedBy(Pod pod, String policyName) {
    var annotations = pod.getMetadata().getAnnotations();
    return annotations != null
        && policyName.equals(annotations.get(io.tokengate.api.v1alpha1.ApiGroup.POLICY_ANNOTATION));
  }

  /**
   * The interception in force: the mode, whether its NetworkPolicy is applied, what re-opens it,
   * and why the namespace refuses the redirect init container (Redirect only).
   */
  record Interception(
      io.tokengate.api.v1alpha1.apipolicy.Interception mode,
      boolean networkPolicyApplied,
      List<String> admittingNetworkPolicies,
      Optional<String> redirectRefused) {}

  /** The deny-all configuration: rendered from the issuer if possible, else from the last one. */
  private Optional<ConfigMap> denyAll(ApiPolicy policy, Context<ApiPolicy> context) {
    var resolution =
        PolicyIssuers.of(policy, secondary::issuer, snapshots, ClientSecrets.Check.NONE);
    if (resolution.renderable()) {
      return Optional.of(SidecarConfigRenderer.render(policy, trusted(resolution)));
    }
    return context
        .getSecondaryResource(ConfigMap.class)
        .map(current -> SidecarConfigRenderer.denyAll(policy, current));
  }

  private static List<SidecarConfigRenderer.Trusted> trusted(PolicyIssuers resolution) {
    return resolution.each().stream()
        .map(r -> new SidecarConfigRenderer.Trusted(r.issuer().orElseThrow(), r.snapshot()))
        .toList();
  }

  private static String specProblem(ApiPolicy policy, PolicyIssuers resolution) {
    String overlap = PolicyIssuers.overlap(resolution);
    if (overlap != null) {
      return overlap;
    }
    if (policy.getSpec().audiences != null) {
      return null;
    }
    for (IssuerResolution r : resolution.each()) {
      if (r.issuer().isPresent() && r.issuer().get().getSpec().audiences == null) {
        return "spec.audiences: issuer "
            + r.issuer().get().getMetadata().getName()
            + " sets no default audiences, so the policy must list its own";
      }
    }
    return null;
  }

  /**
   * Policies whose status may change when this one appears, changes or goes: those it competes
   * with, those in Conflict, and, for a policy with a selector, the namespace defaults (their pods
   * and their NetworkPolicy's closed ports depend on it).
   */
  private static Set<String> rivalsToRecheck(
      ApiPolicy policy, PodCensus census, List<ApiPolicy> policies) {
    Set<String> names = new TreeSet<>(census.overlapping());
    boolean narrower = !PolicyPrecedence.isNamespaceDefault(policy);
    for (ApiPolicy p : policies) {
      if (narrower && PolicyPrecedence.isNamespaceDefault(p)) {
        names.add(p.getMetadata().getName());
      }
      if (p.getStatus() != null
          && StatusConditions.isTrue(p.getStatus().conditions, Conditions.CONFLICT)) {
        names.add(p.getMetadata().getName());
      }
    }
    names.remove(policy.getMetadata().getName());
    return names;
  }
}
