package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** One authorization rule: which requests it matches and what they need. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "!has(self.require) || self.action == 'Authenticated'",
    message = "spec.rules[].require only applies to action Authenticated")
public class Rule {
  @Required
  @Size(min = 1, max = 64)
  @ValidationRule(
      value =
          "self.all(p, p.startsWith('/') && !p.contains('//') && !p.contains('/../')"
              + " && !p.endsWith('/..') && !p.contains('/./') && !p.contains('***')"
              + " && !p.matches('[?#\\\\s]') && !p.matches('[^/]\\\\*\\\\*|\\\\*\\\\*[^/]'))",
      message =
          "spec.rules[].paths: each pattern starts with '/', has no '//', '.' or '..' segments,"
              + " no '?', '#' or whitespace, and uses '**' only as a whole segment")
  @JsonPropertyDescription(
      "Path patterns matched against the normalised request path. '*' matches within one"
          + " segment, '**' (a whole segment) matches any number of segments: /api/*/items,"
          + " /admin/**.")
  public List<@Size(max = 256) String> paths;

  @Size(min = 1, max = 16)
  @ValidationRule(
      value = "self.all(m, m.matches('^[A-Z]{1,16}$'))",
      message = "spec.rules[].methods: HTTP methods in upper case, e.g. GET, POST")
  @JsonPropertyDescription(
      "HTTP methods the rule matches (upper case): GET, HEAD, POST, PUT, DELETE, CONNECT,"
          + " OPTIONS, TRACE, PATCH, or one listed in spec.extensionMethods. Default: every"
          + " method.")
  public List<@Size(max = 16) String> methods;

  @Default("Authenticated")
  @JsonPropertyDescription(
      "Allow (no token needed), Authenticated (a valid token plus `require`), or Deny.")
  public RuleAction action = RuleAction.Authenticated;

  @JsonPropertyDescription("What a valid token must also carry for this rule.")
  public Requirement require;
}
