package io.tokengate.sidecar;

import io.tokengate.testing.PackageCycles;
import org.junit.jupiter.api.Test;

/** The sidecar's packages form no cycle (CONVENTIONS: arrows point one way). */
class PackageCyclesTest {
  @Test
  void thePackagesFormNoCycle() {
    PackageCycles.assertNone("io.tokengate.sidecar");
  }
}
