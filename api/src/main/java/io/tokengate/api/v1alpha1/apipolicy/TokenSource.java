package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** One place a token may be carried; exactly one of header, cookie or query is set. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "[has(self.header), has(self.cookie), has(self.query)].filter(x, x).size() == 1",
    message = "spec.tokenSources[]: set exactly one of header, cookie or query")
public class TokenSource {
  @JsonPropertyDescription("A request header, with an optional scheme prefix.")
  public Header header;

  @JsonPropertyDescription("A cookie (for browser clients).")
  public Named cookie;

  @JsonPropertyDescription(
      "A query parameter. Tokens in URLs end up in logs and browser history: only for clients"
          + " that cannot send headers (RFC 6750 section 2.3).")
  public Named query;

  public static TokenSource header(String name, String prefix) {
    TokenSource s = new TokenSource();
    s.header = new Header();
    s.header.name = name;
    s.header.prefix = prefix;
    return s;
  }

  /** A header token source. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Header {
    @Required
    @Size(min = 1, max = 128)
    @JsonPropertyDescription("Header name, e.g. Authorization.")
    public String name;

    @Default("Bearer ")
    @Size(max = 64)
    @JsonPropertyDescription(
        "Prefix before the token, matched case-insensitively (\"Bearer \" by default; \"\" for"
            + " a header that carries the bare token).")
    public String prefix = "Bearer ";
  }

  /** A cookie or query parameter name. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Named {
    @Required
    @Size(min = 1, max = 128)
    @JsonPropertyDescription("Name of the cookie or query parameter.")
    public String name;
  }
}
