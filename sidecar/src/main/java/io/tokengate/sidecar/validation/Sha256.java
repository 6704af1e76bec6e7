package io.tokengate.sidecar.validation;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 digests, one reusable {@link MessageDigest} per thread (hashing is on the hot path). */
final class Sha256 {
  private static final ThreadLocal<MessageDigest> DIGEST =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException(e);
            }
          });

  private Sha256() {}

  /** This thread's digest, reset: update it, then {@code digest()}. */
  static MessageDigest digest() {
    MessageDigest d = DIGEST.get();
    d.reset();
    return d;
  }
}
