package io.tokengate.operator.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * Every setting of the operator, under the {@code tokengate.} prefix. Each property has the usual
 * environment-variable twin: {@code tokengate.sidecar.listen-port} is {@code
 * TOKENGATE_SIDECAR_LISTEN_PORT}.
 */
@ConfigMapping(prefix = "tokengate")
public interface OperatorSettings {

  /**
   * Namespaces whose ApiPolicies and TokenIssuers are reconciled ({@code
   * tokengate.watched-namespaces=a,b}). Unset: every namespace.
   */
  Optional<Set<String>> watchedNamespaces();

  /**
   * The namespace the operator runs in: the webhook never injects there, ClusterTokenIssuer CA
   * Secrets are read from there, and the webhook TLS Secret and the leader Lease live there.
   */
  @WithDefault("tokengate-system")
  String operatorNamespace();

  /** The injected sidecar container. */
  Sidecar sidecar();

  /** The init container of {@code interception: Redirect}. */
  RedirectInit redirectInit();

  /** The mutating admission webhook. */
  Webhook webhook();

  /** Leader election among operator replicas (reconcilers run on the leader only). */
  LeaderElection leaderElection();

  /** How the operator talks to identity providers. */
  Issuers issuers();

  /** The injected sidecar container. */
  interface Sidecar {
    /** Sidecar image reference. */
    @WithDefault("tokengate/sidecar:0.1.0")
    String image();

    /** Image pull policy of the sidecar container. */
    @WithDefault("IfNotPresent")
    String imagePullPolicy();

    /** The port the sidecar serves protected traffic on (it takes over the app port's name). */
    @WithDefault("7450")
    int listenPort();

    /** The sidecar's admin port: liveness, readiness and Prometheus metrics. */
    @WithDefault("7451")
    int adminPort();

    /** Seconds the sidecar drains in-flight requests after SIGTERM. */
    @WithDefault("20")
    int drainSeconds();

    /**
     * The log lines of allowed requests where a policy's {@code spec.decisionLog} does not say:
     * None, Sampled or All (refusals are always logged).
     */
    @WithName("decision-log.allowed")
    @WithDefault("Sampled")
    String decisionLogAllowed();

    /** Resource requests and limits of the sidecar container. */
    Resources resources();
  }

  /** The init container of {@code interception: Redirect} (its pull policy is the sidecar's). */
  interface RedirectInit {
    /** Image of the program that redirects the application port to the sidecar. */
    @WithDefault("tokengate/redirect-init:0.1.0")
    String image();
  }

  /** Container resources as Kubernetes quantities. */
  interface Resources {
    @WithName("requests.cpu")
    @WithDefault("50m")
    String requestsCpu();

    @WithName("requests.memory")
    @WithDefault("64Mi")
    String requestsMemory();

    @WithName("limits.cpu")
    Optional<String> limitsCpu();

    @WithName("limits.memory")
    @WithDefault("128Mi")
    String limitsMemory();
  }

  /** The mutating admission webhook. */
  interface Webhook {
    /** HTTPS port the webhook is served on by every replica. */
    @WithDefault("8443")
    int port();

    /** The Service in front of the webhook (in the operator namespace). */
    @WithDefault("tokengate-webhook")
    String serviceName();

    /** Name of the MutatingWebhookConfiguration the operator keeps the caBundle of. */
    @WithDefault("tokengate-sidecar-injector")
    String configurationName();

    /**
     * For an operator running outside the cluster: the URL the API server calls instead of the
     * Service (e.g. {@code https://127.0.0.1:8443/inject}).
     */
    Optional<String> url();

    /** Secret (in the operator namespace) holding the webhook CA and serving certificate. */
    @WithDefault("tokengate-webhook-tls")
    String tlsSecretName();

    /** Whether the operator manages the webhook certificate (false: provided certificates). */
    @WithDefault("true")
    boolean manageTls();

    /** Lifetime of a generated serving certificate. */
    @WithDefault("P365D")
    Duration certValidity();

    /** A serving certificate is renewed when it expires within this period. */
    @WithDefault("P30D")
    Duration certRenewBefore();
  }

  /** Leader election among operator replicas. */
  interface LeaderElection {
    /** Off only for a single replica run by hand. */
    @WithDefault("true")
    boolean enabled();

    /** Name of the coordination.k8s.io Lease. */
    @WithDefault("tokengate-operator")
    String leaseName();

    /** Namespace of the Lease. Default: the operator namespace. */
    Optional<String> leaseNamespace();
  }

  /** How the operator talks to identity providers. */
  interface Issuers {
    /** Timeout of one discovery or JWKS request. */
    @WithDefault("10s")
    Duration fetchTimeout();

    /** Upper bound of the retry backoff after a failed fetch. */
    @WithDefault("5m")
    Duration maxRetryInterval();
  }
}
