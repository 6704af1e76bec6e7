package io.tokengate.api.v1alpha1;

/**
 * Condition types and reasons written to the status of tokengate resources. Reasons are CamelCase
 * and are also the reasons of the Events the operator emits. The README's conditions table lists
 * exactly these (a test in operator/ compares them).
 */
public final class Conditions {
  // Types
  public static final String READY = "Ready";
  public static final String DISCOVERY_SUCCEEDED = "DiscoverySucceeded";
  public static final String KEYS_LOADED = "KeysLoaded";
  public static final String ISSUER_RESOLVED = "IssuerResolved";
  public static final String CONFLICT = "Conflict";
  public static final String BYPASS_RISK = "BypassRisk";
  public static final String PROTECTED = "Protected";

  public static final String TRUE = "True";
  public static final String FALSE = "False";
  public static final String UNKNOWN = "Unknown";

  private Conditions() {}

  /** Reasons, shared by conditions and Events. */
  public static final class Reasons {
    public static final String READY = "Ready";
    public static final String DISCOVERED = "Discovered";
    public static final String DISCOVERY_DISABLED = "DiscoveryDisabled";
    public static final String DISCOVERY_FAILED = "DiscoveryFailed";
    public static final String ISSUER_MISMATCH = "IssuerMismatch";

    /**
     * Discovery names an issuer template ({@code {tenantid}}: a multi-tenant Entra issuer) and
     * {@code spec.tenants} is not set, so no token could be matched; the issuer stays unusable.
     */
    public static final String TENANTS_REQUIRED = "TenantsRequired";

    public static final String KEYS_FETCHED = "KeysFetched";
    public static final String STATIC_KEYS = "StaticKeys";
    public static final String JWKS_FETCH_FAILED = "JwksFetchFailed";
    public static final String JWKS_INVALID = "JwksInvalid";
    public static final String NO_USABLE_KEYS = "NoUsableKeys";
    public static final String INVALID_SPEC = "InvalidSpec";
    public static final String CA_UNAVAILABLE = "CaUnavailable";
    public static final String ISSUER_FOUND = "IssuerFound";
    public static final String ISSUER_NOT_FOUND = "IssuerNotFound";
    public static final String ISSUER_NOT_READY = "IssuerNotReady";

    /**
     * IssuerResolved=False: the Secret of an issuer's spec.introspection.clientSecretRef is not in
     * the policy's namespace (or lacks the key), so the sidecar could not mount it.
     */
    public static final String CLIENT_SECRET_MISSING = "ClientSecretMissing";

    /** Ready=False on an issuer: introspection is set but no endpoint is known. */
    public static final String INTROSPECTION_ENDPOINT_UNKNOWN = "IntrospectionEndpointUnknown";

    /** A policy of several issuers serves with the ready ones; the others are named. */
    public static final String SOME_ISSUERS_NOT_READY = "SomeIssuersNotReady";

    public static final String NO_CONFLICT = "NoConflict";
    public static final String OVERLAPPING_POLICY = "OverlappingPolicy";
    public static final String NO_BYPASS = "NoBypass";
    public static final String SERVICE_TARGETS_PORT_NUMBER = "ServiceTargetsPortNumber";
    public static final String SERVICE_TARGETS_RENAMED_PORT = "ServiceTargetsRenamedPort";
    public static final String NETWORK_POLICY_ADMITS_APP_PORT = "NetworkPolicyAdmitsAppPort";

    /** Protected=True: the policy's NetworkPolicy closes the application port. */
    public static final String NETWORK_POLICY = "NetworkPolicy";

    /**
     * Protected=True: an init step redirects inbound TCP for the application port to the sidecar.
     */
    public static final String REDIRECT = "Redirect";

    /**
     * Protected=False: the namespace's Pod Security level refuses the redirect init container, so
     * the API server refuses every injected pod.
     */
    public static final String POD_SECURITY_REFUSES_REDIRECT = "PodSecurityRefusesRedirect";

    /** Protected=True: the application listens on loopback, the sidecar is the pod's way in. */
    public static final String LOOPBACK = "Loopback";

    /** Protected=False: PortName interception takes over a name and protects nothing. */
    public static final String PORT_NAME_ONLY = "PortNameOnly";

    /** Protected=False: something reaches the application port without the sidecar. */
    public static final String BYPASS_RISK = "BypassRisk";

    /** Protected=False: the policy's own NetworkPolicy is not in place yet. */
    public static final String NETWORK_POLICY_PENDING = "NetworkPolicyPending";

    /**
     * Ready=True and, under Redirect or Loopback, Protected=False: matched pods run without the
     * sidecar (and without its interception).
     */
    public static final String PODS_NEED_RESTART = "PodsNeedRestart";

    /**
     * Ready=True and, under Redirect or Loopback, Protected=False: matched pods run without the
     * sidecar and a restart would not change that (opted out, hostNetwork, or a namespace not
     * labelled for injection).
     */
    public static final String PODS_EXCLUDED = "PodsExcluded";

    public static final String DELETING = "Deleting";

    private Reasons() {}
  }
}
