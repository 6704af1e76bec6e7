package io.tokengate.operator.testing;

import java.time.Duration;

/** Retries an assertion until it holds or the time is up; the last failure is rethrown. */
public final class Eventually {
  private Eventually() {}

  public static void eventually(Duration timeout, Runnable assertion) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError | RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  public static void eventually(Runnable assertion) {
    eventually(Duration.ofSeconds(30), assertion);
  }
}
