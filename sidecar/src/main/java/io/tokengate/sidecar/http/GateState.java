package io.tokengate.sidecar.http;

/**
 * What every event loop reads at the start of a request: the active policy (swapped whole on
 * reload) and whether the process is draining. One volatile read each; no locks.
 */
public final class GateState {
  private volatile ActivePolicy current;
  private volatile boolean draining;
  private volatile boolean listening;

  public GateState(ActivePolicy initial) {
    this.current = initial;
  }

  public ActivePolicy current() {
    return current;
  }

  /** Swaps in a new policy; returns the one it replaces. */
  public synchronized ActivePolicy swap(ActivePolicy next) {
    ActivePolicy old = current;
    current = next;
    return old;
  }

  /** The proxy port is bound: until then readiness must not send traffic here. */
  public void markListening() {
    listening = true;
  }

  public boolean draining() {
    return draining;
  }

  public void startDraining() {
    draining = true;
  }

  /** Null when ready to serve, else why not (for {@code /healthz/ready}). */
  public String notReadyReason() {
    if (draining) {
      return "draining: the sidecar is shutting down";
    }
    if (!listening) {
      return "the proxy port is not bound yet";
    }
    ActivePolicy p = current;
    if (p == null) {
      return "no configuration loaded";
    }
    if (!p.validator().ready()) {
      return "keys for issuer "
          + String.join(", ", p.config().issuers().stream().map(i -> i.identifier()).toList())
          + " not loaded yet";
    }
    return null;
  }
}
