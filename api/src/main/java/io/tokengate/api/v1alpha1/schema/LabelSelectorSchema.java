package io.tokengate.api.v1alpha1.schema;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

/**
 * The CRD schema of a label selector: the fields of {@code metav1.LabelSelector} with descriptions,
 * for {@code kubectl explain}. Only the schema comes from here; the model keeps fabric8's {@code
 * LabelSelector}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LabelSelectorSchema {
  @Size(max = 64)
  @JsonPropertyDescription(
      "Label key -> value; a pod is selected when it carries every one of these labels.")
  public Map<String, String> matchLabels;

  @Size(max = 32)
  @JsonPropertyDescription("Label requirements, all of which must hold (ANDed with matchLabels).")
  public List<Requirement> matchExpressions;

  /** One label requirement. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value = "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
      message =
          "spec.selector.matchExpressions[].values: required (non-empty) for In and NotIn, must"
              + " be empty for Exists and DoesNotExist")
  public static class Requirement {
    @Required
    @Size(min = 1, max = 317)
    @JsonPropertyDescription("The label key the requirement applies to.")
    public String key;

    @Required
    @JsonPropertyDescription("In, NotIn, Exists or DoesNotExist.")
    public Operator operator;

    @Size(max = 64)
    @JsonPropertyDescription(
        "Values for In and NotIn (at least one); empty for Exists and DoesNotExist.")
    public List<@Size(max = 63) String> values;
  }

  /** Label selector operators. */
  public enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist
  }
}
