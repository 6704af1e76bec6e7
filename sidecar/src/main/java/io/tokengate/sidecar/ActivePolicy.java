package io.tokengate.sidecar;

import io.tokengate.api.v1alpha1.Durations;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicySpec;
import io.tokengate.api.v1alpha1.apipolicy.DecisionLog;
import io.tokengate.api.v1alpha1.apipolicy.Limits;
import io.tokengate.api.v1alpha1.apipolicy.Mode;
import io.tokengate.api.v1alpha1.apipolicy.UpstreamProtocol;
import io.tokengate.sidecar.authz.RuleMatcher;
import io.tokengate.sidecar.config.RequestHandling;
import io.tokengate.sidecar.config.SidecarConfig;
import io.tokengate.sidecar.http.Challenges;
import io.tokengate.sidecar.http.ProtectedResourceMetadata;
import io.tokengate.sidecar.http.TokenSources;
import io.tokengate.sidecar.log.DecisionSampler;
import io.tokengate.sidecar.validation.DpopBinding;
import io.tokengate.sidecar.validation.DpopReplayCache;
import io.tokengate.sidecar.validation.TokenValidator;
import io.vertx.core.net.SocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The configuration requests are served with, compiled once per load: rules, token sources, claim
 * headers, limits and the validator. A request reads the current instance once and keeps it, so a
 * reload swaps policies between requests, never in the middle of one.
 */
public final class ActivePolicy {
  private final SidecarConfig config;
  private final String id;
  private final RuleMatcher rules;
  private final TokenSources tokenSources;
  private final List<ClaimHeader> claimHeaders;
  private final String[] claimHeaderNames;
  private final boolean audit;
  private final boolean forwardToken;
  private final boolean allowCorsPreflight;
  private final int maxTokenBytes;
  private final int maxHeaderBytes;
  private final SocketAddress upstream;
  private final boolean upstreamH2c;
  private final long upstreamTimeoutMillis;
  private final TokenValidator validator;
  private final RequestHandling handling;

  private final DpopBinding dpop;
  private final ProtectedResourceMetadata resourceMetadata;
  private final Challenges challenges;
  private final DecisionSampler decisionLog;

  /** A claim forwarded as a header. */
  public record ClaimHeader(String claim, String header) {}

  /**
   * What checks how tokens are presented and outlives a reload: the DPoP replay cache and the clock
   * proofs are judged by.
   */
  public record Presentation(DpopReplayCache replay, Clock clock) {}

  /**
   * What the installation decides where a policy is silent (the sidecar's launch options).
   *
   * @param decisionLogAllowed the log lines of allowed requests
   */
  public record Defaults(DecisionLog.Allowed decisionLogAllowed) {}

  public ActivePolicy(
      SidecarConfig config,
      TokenValidator validator,
      Presentation presentation,
      Defaults defaults) {
    this.config = config;
    this.validator = validator;
    ApiPolicySpec s = config.policy().getSpec();
    this.id = config.policyId();
    Map<String, String> issuerByName = new java.util.HashMap<>();
    config.issuers().forEach(i -> issuerByName.put(i.name(), i.identifier()));
    this.rules = RuleMatcher.of(s, issuerByName);
    this.tokenSources = TokenSources.of(s.tokenSources);
    List<ClaimHeader> headers = new ArrayList<>();
    if (s.forwardClaims != null) {
      for (Map.Entry<String, String> e : s.forwardClaims.entrySet()) {
        headers.add(new ClaimHeader(e.getKey(), e.getValue()));
      }
    }
    this.claimHeaders = List.copyOf(headers);
    this.claimHeaderNames =
        headers.stream().map(h -> h.header().toLowerCase(Locale.ROOT)).toArray(String[]::new);
    this.audit = s.mode == Mode.Audit;
    this.forwardToken = s.forwardToken;
    this.allowCorsPreflight = s.allowCorsPreflight;
    Limits limits = s.limits == null ? new Limits() : s.limits;
    this.maxTokenBytes = limits.maxTokenBytes;
    this.maxHeaderBytes = limits.maxHeaderBytes;
    this.upstream = SocketAddress.inetSocketAddress(s.upstream.port, "127.0.0.1");
    this.upstreamH2c = s.upstream.protocol == UpstreamProtocol.H2C;
    this.upstreamTimeoutMillis = Durations.parse(s.upstream.timeout).toMillis();
    this.handling =
        config.requestHandling() == null ? RequestHandling.DEFAULTS : config.requestHandling();
    this.dpop = new DpopBinding(s.dpop, presentation.replay(), presentation.clock());
    this.resourceMetadata =
        ProtectedResourceMetadata.of(
            s, config.issuers().stream().map(i -> i.identifier()).toList(), tokenSources);
    this.decisionLog = DecisionSampler.of(s.decisionLog, defaults.decisionLogAllowed());
    this.challenges =
        new Challenges(
            id, dpop.required(), resourceMetadata == null ? null : resourceMetadata.url());
  }

  /** Which allowed requests' decisions are logged. */
  public DecisionSampler decisionLog() {
    return decisionLog;
  }

  /** How bound and unbound tokens must be presented (DPoP). */
  public DpopBinding dpop() {
    return dpop;
  }

  /** The RFC 9728 metadata this policy serves, or null. */
  public ProtectedResourceMetadata resourceMetadata() {
    return resourceMetadata;
  }

  /** The WWW-Authenticate challenges of this policy. */
  public Challenges challenges() {
    return challenges;
  }

  public SidecarConfig config() {
    return config;
  }

  /** {@code <namespace>/<name>}: the challenge realm, metric label and log field. */
  public String id() {
    return id;
  }

  public RuleMatcher rules() {
    return rules;
  }

  public TokenSources tokenSources() {
    return tokenSources;
  }

  public List<ClaimHeader> claimHeaders() {
    return claimHeaders;
  }

  /** The headers claims are forwarded in, lower case. */
  public String[] claimHeaderNames() {
    return claimHeaderNames;
  }

  /** How strictly request paths and routing headers are read. */
  public RequestHandling requestHandling() {
    return handling;
  }

  /** Proxies in front of the sidecar whose forwarding headers are trusted (0: none). */
  public int trustedForwardedHops() {
    return handling.trustedForwardedHops();
  }

  /** Whether method-override headers are kept (and then decide the rule). */
  public boolean allowMethodOverride() {
    return handling.allowMethodOverride();
  }

  public boolean audit() {
    return audit;
  }

  public boolean forwardToken() {
    return forwardToken;
  }

  public boolean allowCorsPreflight() {
    return allowCorsPreflight;
  }

  public int maxTokenBytes() {
    return maxTokenBytes;
  }

  public int maxHeaderBytes() {
    return maxHeaderBytes;
  }

  public SocketAddress upstream() {
    return upstream;
  }

  /** The application speaks HTTP/2 over cleartext (prior knowledge), not HTTP/1.1. */
  public boolean upstreamH2c() {
    return upstreamH2c;
  }

  public long upstreamTimeoutMillis() {
    return upstreamTimeoutMillis;
  }

  public TokenValidator validator() {
    return validator;
  }
}
