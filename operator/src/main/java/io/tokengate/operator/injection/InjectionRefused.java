package io.tokengate.operator.injection;

/**
 * The pod cannot get a working sidecar (a port or volume already taken, the policy's configuration
 * not rendered yet...). Injection fails closed: the pod is refused with this message, which names
 * what to change, rather than started unprotected or broken.
 */
public final class InjectionRefused extends RuntimeException {
  public InjectionRefused(String message) {
    super(message, null, false, false);
  }
}
