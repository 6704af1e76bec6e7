package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import io.tokengate.api.v1alpha1.schema.ConditionSchema;
import java.util.ArrayList;
import java.util.List;

/** Observed state of a policy: whether it works and how many pods it protects. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ApiPolicyStatus {
  @SchemaFrom(type = ConditionSchema[].class)
  @JsonPropertyDescription("Ready, IssuerResolved, Conflict, BypassRisk and Protected conditions.")
  public List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("Pods the selector matches now.")
  public Integer matchedPods;

  @JsonPropertyDescription("Of those, pods running the sidecar with this policy.")
  public Integer injectedPods;

  @JsonPropertyDescription(
      "Matched pods without the sidecar that a restart would protect (created before the policy,"
          + " or before their namespace was labelled tokengate.io/injection=enabled): restart"
          + " them. Pods in excludedPods are not counted here.")
  public Integer uninjectedPods;

  @JsonPropertyDescription(
      "Matched pods without the sidecar that a restart would not protect: opted out"
          + " (tokengate.io/inject: \"false\"), hostNetwork, or in a namespace without the label"
          + " tokengate.io/injection=enabled. The Ready condition (reason PodsExcluded) names them"
          + " and what to change.")
  public Integer excludedPods;

  @JsonPropertyDescription("injected/matched, as kubectl get shows it.")
  public String pods;

  @JsonPropertyDescription("The resolved issuer URL.")
  public String issuer;

  @JsonPropertyDescription("Hash of the rendered sidecar configuration (sha256:...).")
  public String configHash;

  @JsonPropertyDescription("Name of the ConfigMap holding the rendered sidecar configuration.")
  public String configMapName;

  @JsonPropertyDescription(
      "Secrets of the policy's namespace the injected sidecar mounts read-only (the"
          + " introspection client secrets of its issuers).")
  public List<String> clientSecrets;

  @JsonPropertyDescription("The metadata.generation this status describes.")
  public Long observedGeneration;
}
