package io.tokengate.api.v1alpha1;

/** Group, version and the well-known labels and annotations of the tokengate API. */
public final class ApiGroup {
  public static final String GROUP = "tokengate.io";
  public static final String VERSION = "v1alpha1";
  public static final String API_VERSION = GROUP + "/" + VERSION;

  /** CRD category of every tokengate kind: {@code kubectl get tokengate} lists them all. */
  public static final String CATEGORY = "tokengate";

  /** Namespace label that turns sidecar injection on for the namespace's new pods. */
  public static final String INJECTION_LABEL = "tokengate.io/injection";

  /** Pod annotation {@code "false"} opts a single pod out of injection. */
  public static final String INJECT_ANNOTATION = "tokengate.io/inject";

  /** Pod annotation naming the ApiPolicy whose sidecar the pod runs. */
  public static final String POLICY_ANNOTATION = "tokengate.io/policy";

  /** Pod annotation carrying the configHash the pod's sidecar was injected with. */
  public static final String CONFIG_HASH_ANNOTATION = "tokengate.io/config-hash";

  /**
   * Pod annotation the webhook writes on a pod that a policy selects but that it admits without the
   * sidecar, naming why ({@link #NOT_INJECTED_HOST_NETWORK}, {@link #NOT_INJECTED_OPTED_OUT}): the
   * policy's status then counts the pod as excluded rather than as one a restart would protect.
   */
  public static final String NOT_INJECTED_ANNOTATION = "tokengate.io/not-injected";

  /**
   * {@link #NOT_INJECTED_ANNOTATION}: a hostNetwork pod (the sidecar's ports would be the node's).
   */
  public static final String NOT_INJECTED_HOST_NETWORK = "HostNetwork";

  /** {@link #NOT_INJECTED_ANNOTATION}: the pod opted out ({@code tokengate.io/inject: "false"}). */
  public static final String NOT_INJECTED_OPTED_OUT = "OptedOut";

  /**
   * Pod annotation written at injection: the pod's declared container ports other than the
   * protected application port and the sidecar's own ({@code 9090/TCP,5353/UDP}), which the
   * policy's NetworkPolicy keeps open.
   */
  public static final String OPEN_PORTS_ANNOTATION = "tokengate.io/open-ports";

  private ApiGroup() {}
}
