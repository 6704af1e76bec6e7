package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.kubernetes.api.model.Condition;
import io.tokengate.api.v1alpha1.schema.ConditionSchema;
import java.util.ArrayList;
import java.util.List;

/** Observed state of an issuer: what the operator resolved and whether it works. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TokenIssuerStatus {
  @SchemaFrom(type = ConditionSchema[].class)
  @JsonPropertyDescription("Ready, DiscoverySucceeded and KeysLoaded conditions.")
  public List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("The JWKS URI in use (from discovery or the spec).")
  public String jwksUri;

  @JsonPropertyDescription(
      "The introspection endpoint in use (spec.introspection.endpoint or discovery's), when"
          + " spec.introspection is set.")
  public String introspectionEndpoint;

  @JsonPropertyDescription("The keys currently published by the issuer (ids and types only).")
  public List<KeyInfo> keys;

  @JsonPropertyDescription("Number of usable keys; shown by kubectl get.")
  public Integer keyCount;

  @JsonPropertyDescription("When the JWKS was last fetched successfully (RFC 3339).")
  public String lastRefreshTime;

  @JsonPropertyDescription(
      "SHA-256 of the canonical JWKS; changes when the issuer rotates keys. Policies re-render"
          + " when it changes.")
  public String jwksHash;

  @JsonPropertyDescription("The metadata.generation this status describes.")
  public Long observedGeneration;
}
