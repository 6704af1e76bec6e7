package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.tokengate.api.v1alpha1.schema.LabelSelectorSchema;
import java.util.List;
import java.util.Map;

/** Which pods are protected, by which issuer's tokens, and what each request needs. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value =
        "!has(self.rules) || self.rules.all(r, !has(r.methods) || r.methods.all(m,"
            + " m in ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE',"
            + " 'PATCH'] || (has(self.extensionMethods) && m in self.extensionMethods)))",
    message =
        "spec.rules[].methods: standard HTTP methods only (GET, HEAD, POST, PUT, DELETE, CONNECT,"
            + " OPTIONS, TRACE, PATCH); list any other method in spec.extensionMethods first")
@ValidationRule(
    value = "has(self.issuerRef) != has(self.issuerRefs)",
    message = "spec: set exactly one of issuerRef or issuerRefs")
@ValidationRule(
    value =
        "!has(self.rules) || self.rules.all(r, !has(r.require) || !has(r.require.issuers) ||"
            + " r.require.issuers.all(n, (has(self.issuerRef) && self.issuerRef.name == n) ||"
            + " (has(self.issuerRefs) && self.issuerRefs.exists(i, i.name == n))))",
    message = "spec.rules[].require.issuers: name only issuers of issuerRef or issuerRefs")
@ValidationRule(
    value = "!has(self.allowedPorts) || !(self.upstream.port in self.allowedPorts)",
    message =
        "spec.allowedPorts must not contain spec.upstream.port: that is the port only the sidecar"
            + " may reach")
public class ApiPolicySpec {

  @Required
  @SchemaFrom(type = LabelSelectorSchema.class)
  @JsonPropertyDescription(
      "Pods this policy protects (a label selector over pods in the policy's namespace). An"
          + " empty selector ({}) makes the policy the namespace's default: it covers every pod"
          + " of the namespace that no policy with a non-empty selector selects.")
  public LabelSelector selector;

  @JsonPropertyDescription(
      "The TokenIssuer or ClusterTokenIssuer whose tokens are accepted. Set this or issuerRefs.")
  public IssuerRef issuerRef;

  @Size(min = 1, max = 16)
  @ValidationRule(
      value = "self.all(a, self.exists_one(b, b.name == a.name))",
      message =
          "spec.issuerRefs must not name two issuers alike (require.issuers and the key"
              + " snapshots know an issuer by its name, whatever its kind)")
  @JsonPropertyDescription(
      "Several issuers whose tokens are accepted, instead of issuerRef. A token is routed to one"
          + " by its iss claim before any signature check; a token of any other issuer is"
          + " invalid_token. Each issuer's tokens need the policy's audiences, or that issuer's.")
  public List<IssuerRef> issuerRefs;

  @Size(min = 1, max = 32)
  @JsonPropertyDescription(
      "A token's aud must contain at least one of these. Default: the issuer's audiences. A"
          + " policy whose issuer sets none must set its own.")
  public List<String> audiences;

  @Default("Enforce")
  @JsonPropertyDescription(
      "Enforce refuses failing requests. Audit validates, logs and counts every decision but"
          + " forwards the request anyway (for rolling a policy out).")
  public Mode mode = Mode.Enforce;

  @Required
  @JsonPropertyDescription("The application's port on localhost, where allowed requests go.")
  public Upstream upstream;

  @Default("NetworkPolicy")
  @JsonPropertyDescription(
      "How traffic to upstream.port is made to pass the sidecar, so that no client reaches the"
          + " application unchecked by connecting to the pod's IP and the port number."
          + " NetworkPolicy (default): the operator renders a NetworkPolicy admitting ingress to"
          + " the sidecar's ports, the pods' other declared ports and allowedPorts, never to"
          + " upstream.port (needs a CNI that enforces NetworkPolicy). Redirect: an init container"
          + " (root with NET_ADMIN only, so Pod Security 'privileged') redirects inbound TCP for"
          + " upstream.port to the sidecar in the pod's network namespace. Loopback: the"
          + " application listens on 127.0.0.1 only. Under Redirect and Loopback the kubelet's"
          + " probes of upstream.port go through the sidecar's admin port, which forwards them to"
          + " the application without a token. PortName: the sidecar takes over the"
          + " port's name only, which protects nothing against clients using the number. The"
          + " Protected condition says which protection is in force.")
  public Interception interception = Interception.NetworkPolicy;

  @Size(max = 64)
  @ValidationRule(
      value = "self.all(p, p >= 1 && p <= 65535)",
      message = "spec.allowedPorts must be port numbers from 1 to 65535")
  @JsonPropertyDescription(
      "Container ports the pods keep open to other pods besides the sidecar's (for example an"
          + " application's metrics port that is not declared in the pod spec). Never"
          + " upstream.port.")
  public List<Integer> allowedPorts;

  @Size(min = 1, max = 8)
  @JsonPropertyDescription(
      "Where the token is read from, in order; the first source present is used. Default: the"
          + " Authorization header with the Bearer scheme.")
  public List<TokenSource> tokenSources;

  @Size(min = 1, max = 8)
  @ValidationRule(
      value =
          "self.all(m, !(m in ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS',"
              + " 'TRACE', 'PATCH']))",
      message = "spec.extensionMethods: list only methods that are not standard HTTP methods")
  @JsonPropertyDescription(
      "Non-standard HTTP methods (e.g. PURGE, PROPFIND) that rules[].methods may name. Any method"
          + " not standard and not listed here is refused, so a typo (PSOT) cannot make a rule"
          + " silently never match.")
  public List<@Size(max = 16) @Pattern("^[A-Z]{1,16}$") String> extensionMethods;

  @Size(max = 64)
  @JsonPropertyDescription(
      "Authorization rules, first match wins. A request no rule matches gets defaultAction.")
  public List<Rule> rules;

  @Default("Authenticated")
  @JsonPropertyDescription(
      "For requests no rule matches: Authenticated (a valid token is enough) or Deny.")
  public DefaultAction defaultAction = DefaultAction.Authenticated;

  @JsonPropertyDescription(
      "Claims that carry scopes and roles. Each claim may be a space-delimited string or an"
          + " array; dotted names reach nested claims (realm_access.roles).")
  public ClaimSources claimSources = new ClaimSources();

  @Size(max = 32)
  @ValidationRule(
      value = "self.all(k, self[k].matches('^[A-Za-z0-9-]{1,128}$'))",
      message = "spec.forwardClaims values must be HTTP header names (letters, digits, '-')")
  @JsonPropertyDescription(
      "Claims forwarded to the application as request headers: claim name (dotted for nested)"
          + " -> header name. Arrays are joined with ','. Any such header sent by the client is"
          + " removed first.")
  public Map<String, @Size(max = 128) String> forwardClaims;

  @Default("true")
  @JsonPropertyDescription("Forward the token to the application. false strips it.")
  public boolean forwardToken = true;

  @Default("false")
  @JsonPropertyDescription(
      "Let CORS preflight requests (OPTIONS with Origin and Access-Control-Request-Method)"
          + " through without a token, so browser clients work.")
  public boolean allowCorsPreflight = false;

  @JsonPropertyDescription("Size limits on tokens and request headers.")
  public Limits limits = new Limits();

  @Default("Allowed")
  @JsonPropertyDescription(
      "Sender-constrained tokens (DPoP, RFC 9449). Allowed (default): bearer tokens and"
          + " DPoP-bound tokens are accepted. Required: only DPoP-bound tokens (cnf.jkt) presented"
          + " with the DPoP scheme and a valid proof. Either way a bound token is accepted only"
          + " with its proof, never as a bearer token.")
  public Dpop dpop = Dpop.Allowed;

  @JsonPropertyDescription(
      "Serve OAuth protected-resource metadata (RFC 9728) without a token, so clients and"
          + " agents (MCP clients) discover the authorization server, scopes and token methods"
          + " from the API itself; every 401 then points at it.")
  public ResourceMetadata resourceMetadata;

  @JsonPropertyDescription(
      "Which decisions the sidecar logs: refusals always; allowed requests sampled by default.")
  public DecisionLog decisionLog;

  @JsonPropertyDescription(
      "How strictly the request path and the headers that steer routing are read (escaped"
          + " slashes, method overrides, forwarding headers). Every default is the secure one.")
  public RequestHandling requestHandling = new RequestHandling();

  /** The issuers this policy trusts: {@code issuerRefs}, or {@code issuerRef} alone. */
  @JsonIgnore
  public List<IssuerRef> trustedIssuers() {
    if (issuerRefs != null) {
      return issuerRefs;
    }
    return issuerRef == null ? List.of() : List.of(issuerRef);
  }
}
