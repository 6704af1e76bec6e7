package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import io.tokengate.api.v1alpha1.ApiGroup;

/** Token validation and authorization for the pods a selector picks. */
// Bind directly: HasMetadata's polymorphic deserializer would yield a generic resource.
@JsonDeserialize(using = JsonDeserializer.None.class)
@Group(ApiGroup.GROUP)
@Version(ApiGroup.VERSION)
@ShortNames({"ap", "apipol"})
@AdditionalPrinterColumn(name = "Issuer", jsonPath = ".spec.issuerRef.name")
@AdditionalPrinterColumn(name = "Mode", jsonPath = ".spec.mode")
@AdditionalPrinterColumn(name = "Pods", jsonPath = ".status.pods")
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Protected",
    jsonPath = ".status.conditions[?(@.type==\"Protected\")].status")
@AdditionalPrinterColumn(name = "Interception", jsonPath = ".spec.interception", priority = 1)
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class ApiPolicy extends CustomResource<ApiPolicySpec, ApiPolicyStatus>
    implements Namespaced {
  public static final String KIND = "ApiPolicy";

  @Override
  @JsonPropertyDescription(
      "Which pods are protected, by which issuer's tokens, and what each request needs.")
  public ApiPolicySpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "Observed state, written by the operator: whether the policy works and how many pods it"
          + " protects.")
  public ApiPolicyStatus getStatus() {
    return super.getStatus();
  }
}
