package io.tokengate.e2e.support;

import java.time.Duration;
import java.util.function.Supplier;

/** Polling for conditions that a controller brings about eventually. */
public final class Await {
  private Await() {}

  /**
   * Polls {@code probe} until it returns non-null (or true) or {@code timeout} passes; fails with
   * {@code what} and the last error.
   */
  public static <T> T until(String what, Duration timeout, Supplier<T> probe) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Throwable last = null;
    Object lastValue = null;
    while (true) {
      try {
        T value = probe.get();
        lastValue = value;
        if (value != null && !Boolean.FALSE.equals(value)) {
          return value;
        }
      } catch (RuntimeException | AssertionError e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        AssertionError failure =
            new AssertionError(
                "timed out after "
                    + timeout
                    + " waiting for "
                    + what
                    + (last != null ? ": " + last.getMessage() : "; last value " + lastValue));
        if (last != null) {
          failure.initCause(last);
        }
        throw failure;
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
