package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;

/** A key of a Secret. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SecretKeyRef {
  @Required
  @JsonPropertyDescription("Name of the Secret.")
  public String name;

  @Default("ca.crt")
  @JsonPropertyDescription("Key within the Secret. Default ca.crt.")
  public String key = "ca.crt";
}
