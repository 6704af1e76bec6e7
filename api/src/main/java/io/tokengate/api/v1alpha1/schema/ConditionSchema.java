package io.tokengate.api.v1alpha1.schema;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * The CRD schema of one status condition (the {@code metav1.Condition} shape) with descriptions.
 * Only the schema comes from here; the model keeps fabric8's {@code Condition}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ConditionSchema {
  @JsonPropertyDescription("Condition type, e.g. Ready.")
  public String type;

  @JsonPropertyDescription("True, False or Unknown.")
  public String status;

  @JsonPropertyDescription("CamelCase reason for the last transition; also the Event reason.")
  public String reason;

  @JsonPropertyDescription("Human-readable details: what is wrong and what to do.")
  public String message;

  @JsonPropertyDescription("When the status last changed (RFC 3339).")
  public String lastTransitionTime;

  @JsonPropertyDescription("The metadata.generation the condition was set for.")
  public Long observedGeneration;
}
