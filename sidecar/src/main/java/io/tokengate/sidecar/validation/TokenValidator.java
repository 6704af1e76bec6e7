package io.tokengate.sidecar.validation;

import io.vertx.core.Future;

/**
 * Validates compact JWS access tokens for one issuer and one audience set. Implementations never
 * block the calling event loop: key material is fetched asynchronously and cached.
 */
public interface TokenValidator {

  /**
   * Validates {@code token}. Succeeds with the verified claims, or fails with a {@link
   * io.tokengate.sidecar.validation.GateFailure} (401 {@code invalid_token} with a reason such as
   * {@code expired}, {@code bad_signature}, {@code unknown_kid}, {@code wrong_audience}).
   */
  Future<VerifiedToken> validate(String token);

  /** True once keys are loaded: the sidecar reports ready only then. */
  boolean ready();

  /** Stops refresh timers. */
  void close();
}
