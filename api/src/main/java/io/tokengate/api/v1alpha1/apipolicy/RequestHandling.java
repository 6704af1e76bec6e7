package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/**
 * How strictly the sidecar reads the request path and the headers that steer routing. Every default
 * is the secure one; a field only loosens a check for applications that need it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RequestHandling {

  /** What happens to a path with an encoded separator, or an encoded escape of one. */
  public enum EscapedSlashes {
    Refuse,
    Keep
  }

  @Default("Refuse")
  @JsonPropertyDescription(
      "Paths holding %2F, %5C, or a %25-escape of '.', '/' or '\\'. Refuse (default): answered"
          + " 400, so a rule can never be bypassed by a separator the application decodes later."
          + " Keep: forwarded exactly as sent and never decoded; rules see the escapes as literal"
          + " characters.")
  public EscapedSlashes escapedSlashes = EscapedSlashes.Refuse;

  @Default("false")
  @JsonPropertyDescription(
      "Keep X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override (default false: removed"
          + " before forwarding). When true, the rule is decided on the overriding method, which"
          + " must be an upper-case standard method.")
  public boolean allowMethodOverride = false;

  @Default("0")
  @Min(0)
  @Max(10)
  @JsonPropertyDescription(
      "Proxies in front of the sidecar whose forwarding headers are trusted. 0 (default): the"
          + " client's X-Forwarded-*, Forwarded and X-Real-IP are replaced by what the sidecar"
          + " saw. N: they are kept, the peer is appended, and X-Real-IP is the X-Forwarded-For"
          + " entry N from the right.")
  public int trustedForwardedHops = 0;

  @Default("false")
  @JsonPropertyDescription(
      "Match rule paths whatever the case of their letters (default false: case-sensitive), for"
          + " applications whose router folds case, so /Admin cannot reach what /admin/** guards."
          + " The path is forwarded as sent.")
  public boolean caseInsensitivePaths = false;
}
