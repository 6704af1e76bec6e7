package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import io.tokengate.api.v1alpha1.ApiGroup;

/** Token validation and authorization for the pods a selector picks. */
// Bind directly: HasMetadata's polymorphic deserializer would yield a generic resource.
@JsonDeserialize(using = JsonDeserializer.None.class)
// The root description of the CRD schema (kubectl explain); see CrdPublication in operator/.
@JsonClassDescription(
    "An ApiPolicy protects the pods its selector picks in its namespace: the operator injects a"
        + " sidecar that validates each request's OAuth bearer token (issuer, signature, audience,"
        + " lifetime, scopes, claims) before forwarding it to the application on localhost. An"
        + " empty selector makes it the namespace's default policy.")
@Group(ApiGroup.GROUP)
@Categories(ApiGroup.CATEGORY)
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
@AdditionalPrinterColumn(
    name = "Conflict",
    jsonPath = ".status.conditions[?(@.type==\"Conflict\")].status",
    priority = 1)
@AdditionalPrinterColumn(
    name = "BypassRisk",
    jsonPath = ".status.conditions[?(@.type==\"BypassRisk\")].status",
    priority = 1)
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
