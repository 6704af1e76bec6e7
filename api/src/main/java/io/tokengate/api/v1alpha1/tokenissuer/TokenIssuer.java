package io.tokengate.api.v1alpha1.tokenissuer;

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

/** An identity provider whose tokens policies in the same namespace may accept. */
// Bind directly: HasMetadata's polymorphic deserializer would yield a generic resource.
@JsonDeserialize(using = JsonDeserializer.None.class)
// The root description of the CRD schema (kubectl explain); see CrdPublication in operator/.
@JsonClassDescription(
    "A TokenIssuer is an OpenID Connect / OAuth identity provider whose tokens ApiPolicies in"
        + " the same namespace may accept. The operator discovers and refreshes its signing keys"
        + " and lists them in status.")
@Group(ApiGroup.GROUP)
@Categories(ApiGroup.CATEGORY)
@Version(ApiGroup.VERSION)
@ShortNames({"ti", "tokenissuer"})
@AdditionalPrinterColumn(name = "Issuer", jsonPath = ".spec.issuer")
@AdditionalPrinterColumn(
    name = "Keys",
    jsonPath = ".status.keyCount",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
    name = "Ready",
    jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
    name = "Age",
    jsonPath = ".metadata.creationTimestamp",
    type = AdditionalPrinterColumn.Type.DATE)
public class TokenIssuer extends CustomResource<TokenIssuerSpec, TokenIssuerStatus>
    implements Namespaced, IssuerResource {
  public static final String KIND = "TokenIssuer";

  @Override
  @JsonPropertyDescription(
      "An identity provider (OpenID Connect issuer) whose tokens policies in this namespace may accept.")
  public TokenIssuerSpec getSpec() {
    return super.getSpec();
  }

  @Override
  @JsonPropertyDescription(
      "Observed state, written by the operator: the keys it loaded and whether the issuer works.")
  public TokenIssuerStatus getStatus() {
    return super.getStatus();
  }
}
