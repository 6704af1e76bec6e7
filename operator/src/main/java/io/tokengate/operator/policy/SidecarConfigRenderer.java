package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicySpec;
import io.tokengate.api.v1alpha1.apipolicy.DefaultAction;
import io.tokengate.api.v1alpha1.apipolicy.Mode;
import io.tokengate.api.v1alpha1.apipolicy.Rule;
import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import io.tokengate.api.v1alpha1.tokenissuer.ClientSecretRef;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.Introspection;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.operator.issuer.IssuerSnapshots.Snapshot;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The complete sidecar configuration of one ApiPolicy, as the ConfigMap that should exist. Pure:
 * the same policy, issuer and keys always give the same ConfigMap and the same configHash.
 *
 * <p>Data keys: {@code policy.yaml} (the ApiPolicy document), {@code issuer.yaml} (the issuer
 * document, spec only, a caSecretRef inlined as caBundle, an introspection clientSecretRef replaced
 * by the path of its mounted file and the introspection endpoint resolved) and {@code
 * <issuer>.jwks.json} (the operator's JWKS snapshot). With {@code spec.issuerRefs} there is one
 * {@code issuer-<kind>-<name>.yaml} per issuer, and a snapshot for each issuer that has one (the
 * sidecars fetch the others' keys themselves). A policy being deleted renders as deny-all.
 */
public final class SidecarConfigRenderer {
  public static final String POLICY_KEY = "policy.yaml";
  public static final String ISSUER_KEY = "issuer.yaml";
  public static final String JWKS_SUFFIX = ".jwks.json";
  public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  public static final String MANAGER = "tokengate";

  private SidecarConfigRenderer() {}

  public static String configMapName(String policyName) {
    return "tokengate-" + policyName;
  }

  /** The ConfigMap for {@code policy} using {@code issuer} and its key snapshot. */
  public static ConfigMap render(ApiPolicy policy, IssuerResource issuer, Snapshot keys) {
    return render(policy, List.of(new Trusted(issuer, java.util.Optional.of(keys))));
  }

  /** One issuer of a policy and its key snapshot, if the operator has one. */
  public record Trusted(IssuerResource issuer, java.util.Optional<Snapshot> keys) {}

  /** The ConfigMap for {@code policy} using {@code issuers} (in the spec's order). */
  public static ConfigMap render(ApiPolicy policy, List<Trusted> issuers) {
    Map<String, String> data = new TreeMap<>();
    data.put(POLICY_KEY, ResourceReader.write(policyDocument(policy)));
    for (Trusted t : issuers) {
      IssuerResource issuer = t.issuer();
      data.put(
          issuerKey(policy, issuer),
          ResourceReader.write(issuerDocument(issuer, t.keys().orElse(null))));
      t.keys()
          .ifPresent(k -> data.put(issuer.getMetadata().getName() + JWKS_SUFFIX, k.keys().json()));
    }
    return configMap(policy, data);
  }

  /**
   * Deny-all in place of {@code current}'s policy, keeping its issuer and keys: for a policy being
   * deleted whose issuer is gone too.
   */
  public static ConfigMap denyAll(ApiPolicy policy, ConfigMap current) {
    Map<String, String> data =
        new TreeMap<>(current.getData() == null ? Map.of() : current.getData());
    data.put(POLICY_KEY, ResourceReader.write(denyAllDocument(policy)));
    return configMap(policy, data);
  }

  /**
   * The data key of {@code issuer}'s document: {@code issuer.yaml} for {@code spec.issuerRef},
   * {@code issuer-<kind>-<name>.yaml} for each of {@code spec.issuerRefs}.
   */
  public static String issuerKey(ApiPolicy policy, IssuerResource issuer) {
    return policy.getSpec().issuerRefs == null
        ? ISSUER_KEY
        : "issuer-"
            + issuer.getKind().toLowerCase(java.util.Locale.ROOT)
            + "-"
            + issuer.getMetadata().getName()
            + ".yaml";
  }

  /** {@code sha256:<hex>} over the data, keys sorted: each entry is {@code key NUL value NUL}. */
  public static String configHash(Map<String, String> data) {
    return io.tokengate.api.v1alpha1.ConfigHash.of(data);
  }

  private static ConfigMap configMap(ApiPolicy policy, Map<String, String> data) {
    String name = policy.getMetadata().getName();
    return new ConfigMapBuilder()
        .withMetadata(
            new ObjectMetaBuilder()
                .withName(configMapName(name))
                .withNamespace(policy.getMetadata().getNamespace())
                .withLabels(
                    new TreeMap<>(Map.of(MANAGED_BY, MANAGER, ApiGroup.POLICY_ANNOTATION, name)))
                .withAnnotations(Map.of(ApiGroup.CONFIG_HASH_ANNOTATION, configHash(data)))
                .withOwnerReferences(
                    new OwnerReferenceBuilder()
                        .withApiVersion(ApiGroup.API_VERSION)
                        .withKind(ApiPolicy.KIND)
                        .withName(name)
                        .withUid(policy.getMetadata().getUid())
                        .withController(true)
                        .withBlockOwnerDeletion(true)
                        .build())
                .build())
        .withData(data)
        .build();
  }

  private static ApiPolicy policyDocument(ApiPolicy policy) {
    if (policy.getMetadata().getDeletionTimestamp() != null) {
      return denyAllDocument(policy);
    }
    ApiPolicy doc = new ApiPolicy();
    doc.setMetadata(nameOnly(policy.getMetadata()));
    doc.setSpec(copy(policy.getSpec(), ApiPolicySpec.class));
    return doc;
  }

  /** The policy with one rule, {@code /** Deny}, enforced: the sidecar refuses every request. */
  static ApiPolicy denyAllDocument(ApiPolicy policy) {
    ApiPolicy doc = new ApiPolicy();
    doc.setMetadata(nameOnly(policy.getMetadata()));
    ApiPolicySpec spec = copy(policy.getSpec(), ApiPolicySpec.class);
    Rule denyEverything = new Rule();
    denyEverything.paths = List.of("/**");
    denyEverything.action = RuleAction.Deny;
    spec.rules = List.of(denyEverything);
    spec.defaultAction = DefaultAction.Deny;
    spec.mode = Mode.Enforce;
    spec.allowCorsPreflight = false;
    doc.setSpec(spec);
    return doc;
  }

  private static Object issuerDocument(IssuerResource issuer, Snapshot keys) {
    TokenIssuerSpec spec = copy(issuer.getSpec(), TokenIssuerSpec.class);
    if (spec.caSecretRef != null && keys != null) {
      spec.caSecretRef = null;
      spec.caBundle = keys.caBundle();
    }
    if (spec.introspection != null) {
      if (spec.introspection.endpoint == null && keys != null) {
        spec.introspection.endpoint = keys.introspectionEndpoint();
      }
      // The secret itself never enters the ConfigMap: only where the sidecar finds it mounted.
      if (spec.introspection.clientSecretRef != null) {
        spec.introspection.clientSecretFile = clientSecretFile(spec.introspection.clientSecretRef);
        spec.introspection.clientSecretRef = null;
      }
    }
    if (issuer instanceof ClusterTokenIssuer) {
      ClusterTokenIssuer doc = new ClusterTokenIssuer();
      doc.setMetadata(new ObjectMetaBuilder().withName(issuer.getMetadata().getName()).build());
      doc.setSpec(spec);
      return doc;
    }
    TokenIssuer doc = new TokenIssuer();
    doc.setMetadata(nameOnly(issuer.getMetadata()));
    doc.setSpec(spec);
    return doc;
  }

  /** Where the injected sidecar finds the key of a client Secret. */
  public static String clientSecretFile(ClientSecretRef ref) {
    return Introspection.SECRETS_DIR + "/" + ref.name + "/" + ref.key;
  }

  private static ObjectMeta nameOnly(ObjectMeta meta) {
    return new ObjectMetaBuilder()
        .withName(meta.getName())
        .withNamespace(meta.getNamespace())
        .build();
  }

  private static <T> T copy(T value, Class<T> type) {
    return ResourceReader.yaml().convertValue(value, type);
  }
}
