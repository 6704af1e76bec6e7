package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** The key of a Secret that holds an OAuth client secret. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClientSecretRef {
  @Required
  @Size(min = 1, max = 253)
  @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
  @JsonPropertyDescription(
      "Name of the Secret. It must exist in the namespace of every pod the sidecar protects (for"
          + " a TokenIssuer that is its own namespace): the injected sidecar mounts it read-only.")
  public String name;

  @Default("client-secret")
  @Size(min = 1, max = 253)
  @Pattern("^[-._a-zA-Z0-9]+$")
  @JsonPropertyDescription("Key within the Secret. Default client-secret.")
  public String key = "client-secret";
}
