package io.tokengate.api.v1alpha1.apipolicy;

/**
 * How traffic to the application port is made to pass the sidecar: what closes the bypass of a
 * client connecting to {@code podIP:<app port>} directly.
 */
public enum Interception {
  /**
   * The operator renders a NetworkPolicy owned by the ApiPolicy that admits ingress to the
   * sidecar's ports and the pods' other ports, never to the application port. Needs a CNI that
   * enforces NetworkPolicy; no privilege.
   */
  NetworkPolicy,
  /**
   * An init container (redirect-init, root with NET_ADMIN only) redirects inbound TCP for the
   * application port to the sidecar inside the pod's network namespace; probes of the application
   * port go through the sidecar's admin port.
   */
  Redirect,
  /**
   * The application listens on 127.0.0.1 only; the sidecar is the pod's only way in; probes of the
   * application port go through the sidecar's admin port.
   */
  Loopback,
  /**
   * The sidecar takes over the application port's name only: clients using the name reach the
   * sidecar, clients using the number reach the application unchecked. No protection.
   */
  PortName
}
