package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.operator.issuer.IssuerKey;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What an ApiPolicy's status depends on besides itself, each watched by one informer whose events
 * are mapped back to the policies concerned: the issuers (by the policies' issuerRef index), the
 * pods (metadata only, to the policies selecting or naming them), the Services (to the policies of
 * their namespace), the NetworkPolicies (likewise), and the other policies (through an inbound
 * source, for Conflict).
 */
final class PolicySecondaryResources {
  static final String ISSUER_INDEX = "tokengate.issuerRef";

  private final KubernetesClient podMetadataClient;
  private InformerEventSource<TokenIssuer, ApiPolicy> tokenIssuers;
  private InformerEventSource<ClusterTokenIssuer, ApiPolicy> clusterTokenIssuers;
  private InformerEventSource<Pod, ApiPolicy> pods;
  private InformerEventSource<Service, ApiPolicy> services;
  private InformerEventSource<NetworkPolicy, ApiPolicy> networkPolicies;
  private final SimpleInboundEventSource<ApiPolicy> otherPolicies =
      new SimpleInboundEventSource<>("overlapping-policies");
  private IndexerResourceCache<ApiPolicy> policies;

  PolicySecondaryResources(KubernetesClient podMetadataClient) {
    this.podMetadataClient = podMetadataClient;
  }

  List<EventSource<?, ApiPolicy>> eventSources(EventSourceContext<ApiPolicy> context) {
    policies = context.getPrimaryCache();
    policies.addIndexer(
        ISSUER_INDEX,
        p ->
            p.getSpec().trustedIssuers().stream()
                .map(ref -> IssuerKey.of(ref, p.getMetadata().getNamespace()).indexKey())
                .toList());
    tokenIssuers =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(TokenIssuer.class, ApiPolicy.class)
                .withName("tokenissuers")
                .withSecondaryToPrimaryMapper(this::policiesUsing)
                .build(),
            context);
    clusterTokenIssuers =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(ClusterTokenIssuer.class, ApiPolicy.class)
                .withName("clustertokenissuers")
                .withWatchAllNamespaces()
                .withSecondaryToPrimaryMapper(this::policiesUsing)
                .build(),
            context);
    pods =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Pod.class, ApiPolicy.class)
                .withName("pod-metadata")
                .withKubernetesClient(podMetadataClient)
                .withItemStore(new PodMetadataStore())
                .withSecondaryToPrimaryMapper(this::policiesConcerning)
                .build(),
            context);
    services =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(Service.class, ApiPolicy.class)
                .withName("services")
                .withSecondaryToPrimaryMapper(this::policiesInNamespace)
                .build(),
            context);
    // Every NetworkPolicy of the namespace: the policy's own (to keep it as rendered) and the
    // others (any of them may re-admit the application port).
    networkPolicies =
        new InformerEventSource<>(
            InformerEventSourceConfiguration.from(NetworkPolicy.class, ApiPolicy.class)
                .withName("networkpolicies")
                .withSecondaryToPrimaryMapper(this::policiesInNamespace)
                .build(),
            context);
    return List.of(
        tokenIssuers, clusterTokenIssuers, pods, services, networkPolicies, otherPolicies);
  }

  Optional<IssuerResource> issuer(IssuerKey key) {
    if (ClusterTokenIssuer.KIND.equals(key.kind())) {
      return clusterTokenIssuers.get(new ResourceID(key.name())).map(IssuerResource.class::cast);
    }
    return tokenIssuers
        .get(new ResourceID(key.name(), key.namespace()))
        .map(IssuerResource.class::cast);
  }

  List<Pod> pods(String namespace) {
    // With several watched namespaces JOSDK runs one informer per namespace, all on the one item
    // store given above, so the store holds the pods of every watched namespace.
    return pods.list(namespace, p -> namespace.equals(p.getMetadata().getNamespace())).toList();
  }

  List<Service> services(String namespace) {
    return services.list(namespace, s -> true).toList();
  }

  List<NetworkPolicy> networkPolicies(String namespace) {
    return networkPolicies.list(namespace, n -> true).toList();
  }

  Optional<NetworkPolicy> networkPolicy(String namespace, String name) {
    return networkPolicies.get(new ResourceID(name, namespace));
  }

  List<ApiPolicy> policies(String namespace) {
    return policies.list(namespace).toList();
  }

  /** Asks for the named policies of {@code namespace} to be reconciled again. */
  void reevaluate(String namespace, Set<String> names) {
    names.forEach(n -> otherPolicies.propagateEvent(new ResourceID(n, namespace)));
  }

  private Set<ResourceID> policiesUsing(HasMetadata issuer) {
    return policies.byIndex(ISSUER_INDEX, IssuerKey.of(issuer).indexKey()).stream()
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  private Set<ResourceID> policiesConcerning(Pod pod) {
    String namespace = pod.getMetadata().getNamespace();
    var annotations = pod.getMetadata().getAnnotations();
    String injectedBy = annotations == null ? null : annotations.get(ApiGroup.POLICY_ANNOTATION);
    return policies
        .list(namespace)
        .filter(
            p ->
                p.getMetadata().getName().equals(injectedBy)
                    || PodSelection.matches(p.getSpec().selector, pod.getMetadata().getLabels()))
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  private Set<ResourceID> policiesInNamespace(HasMetadata resource) {
    return policies
        .list(resource.getMetadata().getNamespace())
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }
}
