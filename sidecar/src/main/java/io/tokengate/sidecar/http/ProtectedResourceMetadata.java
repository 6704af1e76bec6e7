package io.tokengate.sidecar.http;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicySpec;
import io.tokengate.api.v1alpha1.apipolicy.Dpop;
import io.tokengate.api.v1alpha1.apipolicy.Rule;
import io.tokengate.sidecar.validation.DpopBinding;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The OAuth 2.0 protected-resource metadata (RFC 9728) of one policy, rendered once per
 * configuration: {@code resource}, {@code authorization_servers} (the issuers' identifiers, where
 * clients find the authorization server's own metadata), {@code scopes_supported} (every scope a
 * rule requires), {@code bearer_methods_supported} (from the token sources), {@code
 * dpop_signing_alg_values_supported} and {@code dpop_bound_access_tokens_required}. It is served at
 * the resource's well-known URL (section 3.1: {@code /.well-known/oauth-protected-resource}
 * inserted between the host and the path), which every 401 names.
 *
 * @param path the request path it is served at
 * @param url the absolute URL of the metadata ({@code resource_metadata} in challenges)
 * @param body the JSON document
 */
public record ProtectedResourceMetadata(String path, String url, Buffer body) {
  public static final String WELL_KNOWN = "/.well-known/oauth-protected-resource";

  /** The metadata of {@code spec}, or null when it serves none. */
  public static ProtectedResourceMetadata of(
      ApiPolicySpec spec, List<String> issuers, TokenSources sources) {
    if (spec.resourceMetadata == null || spec.resourceMetadata.resource == null) {
      return null;
    }
    String resource = spec.resourceMetadata.resource;
    int hostStart = resource.indexOf("://") + 3;
    int pathStart = resource.indexOf('/', hostStart);
    String origin = pathStart < 0 ? resource : resource.substring(0, pathStart);
    String resourcePath = pathStart < 0 ? "" : resource.substring(pathStart);
    String suffix = resourcePath.equals("/") ? "" : resourcePath;
    String path = WELL_KNOWN + suffix;

    Set<String> scopes = new LinkedHashSet<>();
    if (spec.rules != null) {
      for (Rule r : spec.rules) {
        if (r.require != null && r.require.scopes != null) {
          scopes.addAll(r.require.scopes);
        }
      }
    }
    JsonObject doc = new JsonObject();
    doc.put("resource", resource);
    doc.put("authorization_servers", new JsonArray(List.copyOf(issuers)));
    doc.put("scopes_supported", new JsonArray(List.copyOf(scopes)));
    doc.put("bearer_methods_supported", new JsonArray(sources.bearerMethods()));
    doc.put("dpop_signing_alg_values_supported", new JsonArray(DpopBinding.ALGORITHM_NAMES));
    doc.put("dpop_bound_access_tokens_required", spec.dpop == Dpop.Required);
    return new ProtectedResourceMetadata(path, origin + path, doc.toBuffer());
  }
}
