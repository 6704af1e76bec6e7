package io.tokengate.e2e.node;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The real node shared by the suites that can run on it one after another ({@code
 * InterceptionModesIT}, then {@code NodeScenarioIT}): one cluster start, one image import, one
 * Keycloak boot instead of one per suite. A suite that uses it leaves the cluster as it found it
 * (or closes it, so the next one starts a fresh node); the last user closes it, and whatever is
 * still open is closed when the test run ends. A suite that starts a node of its own ({@code
 * NodeIT}, {@code DemoIT}: one node per machine) calls {@link #close()} first.
 */
public final class SharedNode {
  private static NodeCluster cluster;

  private SharedNode() {}

  /** The shared node, started on first use. */
  static synchronized NodeCluster acquire() {
    if (cluster == null) {
      cluster = NodeCluster.start();
    }
    return cluster;
  }

  /** Stops the shared node if it runs; the next {@link #acquire()} starts a new one. */
  public static synchronized void close() {
    if (cluster != null) {
      NodeCluster running = cluster;
      cluster = null;
      running.close();
    }
  }

  /**
   * Closes the shared node when the whole test run ends (JUnit closes the root context's store
   * last), so a run of one suite never leaves a node behind.
   */
  public static final class ClosedAtTheEnd implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
      context
          .getRoot()
          .getStore(ExtensionContext.Namespace.create(SharedNode.class))
          .getOrComputeIfAbsent("close", k -> (AutoCloseable) SharedNode::close);
    }
  }
}
