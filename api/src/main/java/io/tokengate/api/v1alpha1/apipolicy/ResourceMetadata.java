package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * OAuth 2.0 protected-resource metadata (RFC 9728) the sidecar serves, so clients (MCP clients and
 * other agents among them) learn from the API itself which authorization server issues its tokens.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ResourceMetadata {
  /**
   * What {@code resource} must look like: https with a host, no query or fragment; plain http only
   * on a loopback host (a development set-up on one machine).
   */
  public static final String RESOURCE_PATTERN =
      "^(https://[^/?#@\\s]+|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]{1,5})?)"
          + "(/[^?#\\s]*)?$";

  @Required
  @Size(min = 1, max = 2048)
  @ValidationRule(
      value = "self.matches('" + RESOURCE_PATTERN_CEL + "')",
      message =
          "spec.resourceMetadata.resource must be an https URL without query or fragment (http"
              + " only for 127.0.0.1, localhost or [::1])")
  @JsonPropertyDescription(
      "The resource identifier clients use for this API (RFC 9728): the https URL they call, no"
          + " query or fragment, e.g. https://orders.example.com. The metadata is served at that"
          + " URL with /.well-known/oauth-protected-resource inserted after the host, and every"
          + " 401 names it in WWW-Authenticate (resource_metadata).")
  public String resource;

  /** {@link #RESOURCE_PATTERN} as a CEL string literal body (backslashes doubled). */
  static final String RESOURCE_PATTERN_CEL =
      "^(https://[^/?#@\\\\s]+|http://(127\\\\.0\\\\.0\\\\.1|localhost|\\\\[::1\\\\])(:[0-9]{1,5})?)"
          + "(/[^?#\\\\s]*)?$";
}
