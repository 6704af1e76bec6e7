package io.tokengate.sidecar.config;

import io.tokengate.api.v1alpha1.Durations;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicySpec;
import io.tokengate.api.v1alpha1.apipolicy.ClaimSources;
import io.tokengate.api.v1alpha1.apipolicy.HttpMethods;
import io.tokengate.api.v1alpha1.apipolicy.IssuerRef;
import io.tokengate.api.v1alpha1.apipolicy.Limits;
import io.tokengate.api.v1alpha1.apipolicy.Requirement;
import io.tokengate.api.v1alpha1.apipolicy.ResourceMetadata;
import io.tokengate.api.v1alpha1.apipolicy.Rule;
import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import io.tokengate.api.v1alpha1.apipolicy.TokenSource;
import io.tokengate.api.v1alpha1.tokenissuer.Introspection;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.authz.PathPattern;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The semantic checks the CRD schema and its CEL rules make in a cluster, made again here because
 * the sidecar also reads files nobody applied (standalone use), plus the checks only the sidecar
 * can make (a header a claim may not be forwarded into). Every problem names file, resource and
 * field.
 */
final class ConfigChecks {
  private static final Pattern HEADER_NAME = Pattern.compile("^[A-Za-z0-9-]{1,128}$");
  // RFC 9110 token characters: what a header or cookie name may consist of.
  private static final Pattern TOKEN = Pattern.compile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$");
  private static final Pattern METHOD = Pattern.compile("^[A-Z]{1,16}$");
  private static final Pattern RESOURCE = Pattern.compile(ResourceMetadata.RESOURCE_PATTERN);

  /**
   * Headers a claim must never be written into: framing and routing headers (smuggling), the
   * forwarding headers the sidecar sets itself, and credentials.
   */
  private static final Set<String> RESERVED_HEADERS =
      Set.of(
          "host",
          "content-length",
          "transfer-encoding",
          "connection",
          "keep-alive",
          "upgrade",
          "te",
          "trailer",
          "expect",
          "proxy-authorization",
          "proxy-authenticate",
          "proxy-connection",
          "authorization",
          "cookie",
          "x-forwarded-for",
          "x-forwarded-proto",
          "x-forwarded-host",
          "forwarded",
          "traceparent",
          "tracestate");

  private ConfigChecks() {}

  static void checkPolicy(String file, ApiPolicy policy, List<ConfigProblem> out) {
    Problems p = new Problems(file, ConfigLoader.ref(policy), out);
    ApiPolicySpec s = policy.getSpec();
    if ((s.issuerRef == null) == (s.issuerRefs == null)) {
      p.add("spec", "set exactly one of issuerRef or issuerRefs");
    }
    if (s.issuerRef != null && s.issuerRef.kind == null) {
      p.add("spec.issuerRef.kind", "must be TokenIssuer or ClusterTokenIssuer");
    }
    checkIssuerRefs(p, s.issuerRefs);
    if (s.audiences != null) {
      checkStrings(p, "spec.audiences", s.audiences, 1, 32);
    }
    if (s.mode == null) {
      p.add("spec.mode", "must be Enforce or Audit");
    }
    if (s.defaultAction == null) {
      p.add("spec.defaultAction", "must be Authenticated or Deny");
    }
    if (s.upstream == null) {
      p.add("spec.upstream", "required (the application's port on localhost)");
    } else {
      if (s.upstream.port < 1 || s.upstream.port > 65535) {
        p.add("spec.upstream.port", "must be between 1 and 65535, got " + s.upstream.port);
      }
      checkDuration(p, "spec.upstream.timeout", s.upstream.timeout);
      if (s.upstream.protocol == null) {
        p.add("spec.upstream.protocol", "must be HTTP1 or H2C");
      }
    }
    checkTokenSources(p, s.tokenSources);
    checkRules(p, s.rules, s.extensionMethods);
    checkRequiredIssuers(p, s);
    checkClaimSources(p, s.claimSources);
    checkForwardClaims(p, s);
    checkLimits(p, s.limits);
    if (s.dpop == null) {
      p.add("spec.dpop", "must be Allowed or Required");
    }
    checkResourceMetadata(p, s.resourceMetadata);
  }

  private static void checkRequiredIssuers(Problems p, ApiPolicySpec s) {
    if (s.rules == null) {
      return;
    }
    Set<String> names = new HashSet<>();
    s.trustedIssuers().forEach(r -> names.add(r.name));
    for (int i = 0; i < s.rules.size(); i++) {
      Rule r = s.rules.get(i);
      if (r == null || r.require == null || r.require.issuers == null) {
        continue;
      }
      for (int j = 0; j < r.require.issuers.size(); j++) {
        String n = r.require.issuers.get(j);
        if (!names.contains(n)) {
          p.add(
              "spec.rules[" + i + "].require.issuers[" + j + "]",
              "'" + n + "' is not an issuer of issuerRef or issuerRefs");
        }
      }
    }
  }

  private static void checkIssuerRefs(Problems p, List<IssuerRef> refs) {
    if (refs == null) {
      return;
    }
    if (refs.isEmpty() || refs.size() > 16) {
      p.add("spec.issuerRefs", "must list 1 to 16 issuers");
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < refs.size(); i++) {
      IssuerRef r = refs.get(i);
      if (r == null || r.kind == null) {
        p.add("spec.issuerRefs[" + i + "].kind", "must be TokenIssuer or ClusterTokenIssuer");
      } else if (!seen.add(r.name)) {
        p.add(
            "spec.issuerRefs[" + i + "]",
            "'"
                + r.name
                + "' is named twice (require.issuers and key snapshots know an issuer by its"
                + " name, whatever its kind)");
      }
    }
  }

  private static void checkResourceMetadata(Problems p, ResourceMetadata m) {
    if (m == null) {
      return;
    }
    if (m.resource == null || m.resource.isEmpty()) {
      p.add("spec.resourceMetadata.resource", "required");
    } else if (m.resource.length() > 2048 || !RESOURCE.matcher(m.resource).matches()) {
      p.add(
          "spec.resourceMetadata.resource",
          "must be an https URL without query or fragment (http only for 127.0.0.1, localhost or"
              + " [::1]), got '"
              + m.resource
              + "'");
    }
  }

  private static void checkTokenSources(Problems p, List<TokenSource> sources) {
    if (sources == null) {
      return;
    }
    if (sources.isEmpty() || sources.size() > 8) {
      p.add("spec.tokenSources", "must list 1 to 8 sources (omit it for Authorization: Bearer)");
    }
    for (int i = 0; i < sources.size(); i++) {
      String f = "spec.tokenSources[" + i + "]";
      TokenSource t = sources.get(i);
      if (t == null) {
        p.add(f, "must not be null");
        continue;
      }
      int set = (t.header != null ? 1 : 0) + (t.cookie != null ? 1 : 0) + (t.query != null ? 1 : 0);
      if (set != 1) {
        p.add(f, "set exactly one of header, cookie or query");
        continue;
      }
      if (t.header != null) {
        checkName(p, f + ".header.name", t.header.name);
        if (t.header.prefix != null && t.header.prefix.length() > 64) {
          p.add(f + ".header.prefix", "must be at most 64 characters");
        }
        if (t.header.prefix != null && hasControl(t.header.prefix)) {
          p.add(f + ".header.prefix", "must not contain control characters");
        }
      } else if (t.cookie != null) {
        checkName(p, f + ".cookie.name", t.cookie.name);
      } else {
        if (t.query.name == null || t.query.name.isEmpty() || t.query.name.length() > 128) {
          p.add(f + ".query.name", "required, at most 128 characters");
        } else if (!TOKEN.matcher(t.query.name).matches()) {
          p.add(f + ".query.name", "'" + t.query.name + "' is not a plain parameter name");
        }
      }
    }
  }

  private static void checkName(Problems p, String field, String name) {
    if (name == null || name.isEmpty() || name.length() > 128) {
      p.add(field, "required, at most 128 characters");
    } else if (!TOKEN.matcher(name).matches()) {
      p.add(field, "'" + name + "' is not a valid HTTP token (letters, digits, !#$%&'*+.^_`|~-)");
    }
  }

  private static void checkRules(Problems p, List<Rule> rules, List<String> extensionMethods) {
    if (rules == null) {
      return;
    }
    if (rules.size() > 256) {
      p.add("spec.rules", "at most 256 rules, got " + rules.size());
    }
    for (int i = 0; i < rules.size(); i++) {
      String f = "spec.rules[" + i + "]";
      Rule r = rules.get(i);
      if (r == null) {
        p.add(f, "must not be null");
        continue;
      }
      if (r.paths == null || r.paths.isEmpty() || r.paths.size() > 64) {
        p.add(f + ".paths", "must list 1 to 64 path patterns");
      } else {
        for (int j = 0; j < r.paths.size(); j++) {
          String pat = r.paths.get(j);
          try {
            if (pat != null && pat.length() > 1024) {
              throw new IllegalArgumentException("must be at most 1024 characters");
            }
            PathPattern.parse(pat);
          } catch (IllegalArgumentException e) {
            p.add(f + ".paths[" + j + "]", "'" + pat + "' " + e.getMessage());
          }
        }
      }
      if (r.methods != null) {
        if (r.methods.isEmpty() || r.methods.size() > 16) {
          p.add(f + ".methods", "must list 1 to 16 methods (omit it for every method)");
        }
        for (int j = 0; j < r.methods.size(); j++) {
          String m = r.methods.get(j);
          if (m == null || !METHOD.matcher(m).matches()) {
            p.add(f + ".methods[" + j + "]", "'" + m + "' is not an upper-case HTTP method");
          } else if (!HttpMethods.admitted(m, extensionMethods)) {
            p.add(
                f + ".methods[" + j + "]",
                "'"
                    + m
                    + "' is not a standard HTTP method; list it in spec.extensionMethods first");
          }
        }
      }
      if (r.action == null) {
        p.add(f + ".action", "must be Allow, Authenticated or Deny");
      } else if (r.require != null && r.action != RuleAction.Authenticated) {
        p.add(f + ".require", "only applies to action Authenticated, not " + r.action);
      }
      if (r.require != null) {
        checkRequirement(p, f + ".require", r.require);
      }
    }
  }

  private static void checkRequirement(Problems p, String f, Requirement r) {
    if (r.scopes != null) {
      checkStrings(p, f + ".scopes", r.scopes, 0, 32);
      for (int i = 0; i < r.scopes.size(); i++) {
        String s = r.scopes.get(i);
        if (s != null && (s.contains(" ") || s.contains("\"") || s.contains("\\"))) {
          p.add(f + ".scopes[" + i + "]", "a scope contains no space, '\"' or '\\'");
        }
      }
    }
    if (r.roles != null) {
      checkStrings(p, f + ".roles", r.roles, 0, 32);
    }
    if (r.claims != null) {
      if (r.claims.size() > 32) {
        p.add(f + ".claims", "at most 32 claims");
      }
      r.claims.forEach(
          (k, v) -> {
            if (k == null || k.isEmpty()) {
              p.add(f + ".claims", "a claim name is empty");
            } else if (v == null || v.isEmpty()) {
              p.add(f + ".claims." + k, "list at least one allowed value");
            } else if (v.stream().anyMatch(x -> x == null)) {
              p.add(f + ".claims." + k, "allowed values must not be null");
            }
          });
    }
  }

  private static void checkClaimSources(Problems p, ClaimSources c) {
    if (c == null) {
      return;
    }
    if (c.scopes != null) {
      checkStrings(p, "spec.claimSources.scopes", c.scopes, 1, 8);
      checkClaimNames(p, "spec.claimSources.scopes", c.scopes);
    }
    if (c.roles != null) {
      checkStrings(p, "spec.claimSources.roles", c.roles, 1, 8);
      checkClaimNames(p, "spec.claimSources.roles", c.roles);
    }
  }

  private static void checkClaimNames(Problems p, String field, List<String> names) {
    for (int i = 0; i < names.size(); i++) {
      String n = names.get(i);
      if (n != null && (n.startsWith(".") || n.endsWith(".") || n.contains(".."))) {
        p.add(field + "[" + i + "]", "'" + n + "' has an empty segment in its dotted path");
      }
    }
  }

  private static void checkForwardClaims(Problems p, ApiPolicySpec s) {
    if (s.forwardClaims == null) {
      return;
    }
    if (s.forwardClaims.size() > 32) {
      p.add("spec.forwardClaims", "at most 32 claims");
    }
    Map<String, String> seen = new HashMap<>();
    s.forwardClaims.forEach(
        (claim, header) -> {
          String f = "spec.forwardClaims." + claim;
          if (claim == null || claim.isEmpty()) {
            p.add("spec.forwardClaims", "a claim name is empty");
            return;
          }
          if (header == null || !HEADER_NAME.matcher(header).matches()) {
            p.add(f, "'" + header + "' is not a header name (letters, digits, '-', 1-128)");
            return;
          }
          String lower = header.toLowerCase(Locale.ROOT);
          if (RESERVED_HEADERS.contains(lower) || lower.startsWith("proxy-")) {
            p.add(f, "'" + header + "' is a header the sidecar or HTTP itself controls");
          }
          if (isTokenHeader(s, lower)) {
            p.add(f, "'" + header + "' is where the token is read from");
          }
          String other = seen.put(lower, claim);
          if (other != null) {
            p.add(f, "header '" + header + "' is already used for claim '" + other + "'");
          }
        });
  }

  private static boolean isTokenHeader(ApiPolicySpec s, String lowerName) {
    if (s.tokenSources == null) {
      return lowerName.equals("authorization");
    }
    return s.tokenSources.stream()
        .anyMatch(
            t ->
                t != null
                    && t.header != null
                    && t.header.name != null
                    && t.header.name.equalsIgnoreCase(lowerName));
  }

  private static void checkLimits(Problems p, Limits l) {
    if (l == null) {
      return;
    }
    if (l.maxTokenBytes < 256 || l.maxTokenBytes > 1048576) {
      p.add("spec.limits.maxTokenBytes", "must be between 256 and 1048576, got " + l.maxTokenBytes);
    }
    if (l.maxHeaderBytes < 1024 || l.maxHeaderBytes > 1048576) {
      p.add(
          "spec.limits.maxHeaderBytes",
          "must be between 1024 and 1048576, got " + l.maxHeaderBytes);
    }
  }

  static void checkIssuer(String file, IssuerResource issuer, List<ConfigProblem> out) {
    Problems p = new Problems(file, ConfigLoader.ref(issuer), out);
    TokenIssuerSpec s = issuer.getSpec();
    if (s.issuer == null || s.issuer.isEmpty()) {
      p.add("spec.issuer", "required");
    } else {
      checkUrl(p, "spec.issuer", s.issuer, s.allowInsecureHttp);
    }
    if (s.jwksUri != null) {
      checkUrl(p, "spec.jwksUri", s.jwksUri, s.allowInsecureHttp);
    }
    checkTenants(p, s);
    if (s.jwks != null && (s.jwksUri != null || s.discovery)) {
      p.add(
          "spec.jwks",
          "static keys contradict spec.jwksUri and spec.discovery: with static keys set"
              + " discovery: false and omit jwksUri");
    }
    if (!s.discovery && s.jwksUri == null && s.jwks == null) {
      p.add("spec", "no key source; enable spec.discovery, or set spec.jwksUri or spec.jwks");
    }
    if (s.jwks != null && (s.jwks.keys == null || s.jwks.keys.isEmpty())) {
      p.add("spec.jwks.keys", "must hold at least one key");
    }
    if (s.caBundle != null && s.caSecretRef != null) {
      p.add("spec.caBundle", "spec.caBundle and spec.caSecretRef are mutually exclusive");
    } else if (s.caSecretRef != null) {
      p.add(
          "spec.caSecretRef",
          "the sidecar cannot read Secrets; inline the PEM as spec.caBundle (the operator does"
              + " this when it renders the configuration)");
    }
    if (s.caBundle != null && !s.caBundle.contains("-----BEGIN CERTIFICATE-----")) {
      p.add("spec.caBundle", "must hold PEM certificates (-----BEGIN CERTIFICATE-----)");
    }
    if (s.audiences != null) {
      checkStrings(p, "spec.audiences", s.audiences, 1, 32);
    }
    if (s.algorithms != null) {
      if (s.algorithms.isEmpty() || s.algorithms.size() > 16) {
        p.add("spec.algorithms", "must list 1 to 16 algorithms (omit it for the default)");
      } else if (s.algorithms.contains(null)) {
        p.add("spec.algorithms", "must not contain null");
      }
    }
    if (s.clockSkewSeconds < 0 || s.clockSkewSeconds > 600) {
      p.add("spec.clockSkewSeconds", "must be between 0 and 600, got " + s.clockSkewSeconds);
    }
    checkDuration(p, "spec.refreshInterval", s.refreshInterval);
    checkIntrospection(p, s);
  }

  private static void checkIntrospection(Problems p, TokenIssuerSpec s) {
    Introspection i = s.introspection;
    if (i == null) {
      return;
    }
    if (i.clientId == null || i.clientId.isBlank()) {
      p.add("spec.introspection.clientId", "required");
    }
    if (i.clientSecretFile == null || i.clientSecretFile.isBlank()) {
      p.add(
          "spec.introspection.clientSecretFile",
          i.clientSecretRef != null
              ? "the sidecar cannot read Secrets; name a file holding the client secret (the"
                  + " operator does this when it renders the configuration)"
              : "required: a file holding the client secret");
    }
    if (i.endpoint != null) {
      checkUrl(p, "spec.introspection.endpoint", i.endpoint, s.allowInsecureHttp);
    } else if (!s.discovery) {
      p.add(
          "spec.introspection.endpoint",
          "required when spec.discovery is false (discovery would name it)");
    }
    if (i.mode == null) {
      p.add("spec.introspection.mode", "must be OpaqueOnly or Always");
    }
    if (i.authMethod == null) {
      p.add("spec.introspection.authMethod", "must be client_secret_basic or client_secret_post");
    }
    checkDuration(p, "spec.introspection.cacheTtl", i.cacheTtl);
  }

  private static void checkTenants(Problems p, TokenIssuerSpec s) {
    if (s.tenants == null) {
      return;
    }
    if (!IssuerTemplate.isMultiTenantIssuer(s.issuer)) {
      p.add(
          "spec.tenants",
          "applies only to a multi-tenant issuer such as"
              + " https://login.microsoftonline.com/organizations/v2.0 (path /organizations or"
              + " /common, optionally followed by /v2.0); a single-tenant issuer names its tenant"
              + " in spec.issuer");
    }
    if (s.tenants.isEmpty() || s.tenants.size() > 1000) {
      p.add("spec.tenants", "must list 1 to 1000 tenant ids, or '*' alone");
      return;
    }
    if (s.tenants.contains(IssuerTemplate.ALL_TENANTS) && s.tenants.size() > 1) {
      p.add(
          "spec.tenants",
          "'*' (every tenant) must be the only entry; list tenant ids or '*', not both");
    }
    for (int i = 0; i < s.tenants.size(); i++) {
      String t = s.tenants.get(i);
      if (!IssuerTemplate.ALL_TENANTS.equals(t) && !IssuerTemplate.isTenantId(t)) {
        p.add(
            "spec.tenants[" + i + "]",
            "'"
                + t
                + "' is not a tenant id: a lower-case GUID as in the tokens' tid claim (e.g."
                + " 72f988bf-86f1-41af-91ab-2d7cd011db47), or '*' alone");
      }
    }
  }

  static List<String> effectiveAudiences(
      ConfigLoader.Found<ApiPolicy> policy,
      ConfigLoader.Found<IssuerResource> issuer,
      List<ConfigProblem> out) {
    List<String> own = policy.resource().getSpec().audiences;
    if (own != null && !own.isEmpty()) {
      return List.copyOf(own.stream().filter(a -> a != null).toList());
    }
    List<String> inherited = issuer.resource().getSpec().audiences;
    if (inherited != null && !inherited.isEmpty()) {
      return List.copyOf(inherited.stream().filter(a -> a != null).toList());
    }
    out.add(
        new ConfigProblem(
            policy.file(),
            ConfigLoader.ref(policy.resource()),
            "spec.audiences",
            "required: the policy sets none and "
                + ConfigLoader.ref(issuer.resource())
                + " has no default spec.audiences, so a token's audience could not be checked"));
    return List.of();
  }

  private static void checkUrl(Problems p, String field, String url, boolean allowHttp) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (Exception e) {
      p.add(field, "'" + url + "' is not a valid URL");
      return;
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (uri.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))) {
      p.add(field, "'" + url + "' is not an absolute http(s) URL");
    } else if (scheme.equals("http") && !allowHttp) {
      p.add(
          field,
          "must be an https:// URL; set spec.allowInsecureHttp: true only for development"
              + " issuers on plain HTTP");
    }
  }

  private static void checkDuration(Problems p, String field, String text) {
    try {
      Duration d = Durations.parse(text);
      if (d.isZero()) {
        p.add(field, "must be greater than zero");
      }
    } catch (IllegalArgumentException e) {
      p.add(field, e.getMessage());
    }
  }

  private static void checkStrings(
      Problems p, String field, List<String> values, int min, int max) {
    if (values.size() < min || values.size() > max) {
      p.add(field, "must list " + min + " to " + max + " entries, got " + values.size());
    }
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      if (v == null || v.isEmpty()) {
        p.add(field + "[" + i + "]", "must not be empty");
      }
    }
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
  }

  /** Collects problems for one resource. */
  private record Problems(String file, String resource, List<ConfigProblem> out) {
    void add(String field, String message) {
      out.add(new ConfigProblem(file, resource, field, message));
    }
  }
}
