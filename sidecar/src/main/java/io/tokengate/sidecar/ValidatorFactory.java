package io.tokengate.sidecar;

import io.micrometer.core.instrument.MeterRegistry;
import io.tokengate.api.v1alpha1.ResourceReader;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.config.SidecarConfig;
import io.tokengate.sidecar.validation.JwksCache;
import io.tokengate.sidecar.validation.JwtValidator;
import io.tokengate.sidecar.validation.TokenValidator;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.vertx.core.Vertx;
import java.util.Optional;

/**
 * Builds the {@link JwtValidator} of each configuration load, and keeps one issuer key cache across
 * reloads that leave the issuer and its snapshot unchanged: a reload that only edits rules then
 * needs no JWKS fetch and is ready at once. A build is only a candidate until {@link #activate}: a
 * refused reload {@link #release}s it and the serving keys stay untouched.
 */
public final class ValidatorFactory {
  private final Vertx vertx;
  private final MeterRegistry registry;
  private final ValidationTuning tuning;
  private JwksCache current;
  private String currentIdentity;

  public ValidatorFactory(Vertx vertx, MeterRegistry registry, ValidationTuning tuning) {
    this.vertx = vertx;
    this.registry = registry;
    this.tuning = tuning;
  }

  /**
   * A validator for {@code config}.
   *
   * @throws IllegalArgumentException when the issuer cannot work; the message names the field
   */
  public synchronized Built build(SidecarConfig config) {
    TokenIssuerSpec spec = config.issuer().getSpec();
    String identity =
        ResourceReader.write(spec)
            + "\n"
            + (config.snapshot() == null ? "" : config.snapshot().toString(true));
    boolean shared = current != null && identity.equals(currentIdentity);
    JwksCache keys =
        shared
            ? current
            : JwksCache.start(
                vertx, spec, Optional.ofNullable(config.snapshot()), registry, tuning);
    try {
      TokenValidator validator =
          JwtValidator.create(keys, spec, config.audiences(), registry, tuning);
      return new Built(validator, keys, identity, shared);
    } catch (RuntimeException e) {
      if (!shared) {
        keys.close();
      }
      throw e;
    }
  }

  /** Makes {@code built}'s keys the ones later builds of the same issuer share. */
  public synchronized void activate(Built built) {
    current = built.keys;
    currentIdentity = built.identity;
  }

  /** Done with {@code built}: replaced (after in-flight requests finished) or never activated. */
  public synchronized void release(Built built) {
    built.validator.close();
    if (built.keys != current) {
      built.keys.close();
    }
  }

  /** Stops the current key cache (at shutdown). */
  public synchronized void close() {
    if (current != null) {
      current.close();
      current = null;
    }
  }

  /** A validator and the key cache it reads. */
  public static final class Built {
    private final TokenValidator validator;
    private final JwksCache keys;
    private final String identity;
    private final boolean sharesKeys;

    Built(TokenValidator validator, JwksCache keys, String identity, boolean sharesKeys) {
      this.validator = validator;
      this.keys = keys;
      this.identity = identity;
      this.sharesKeys = sharesKeys;
    }

    public TokenValidator validator() {
      return validator;
    }

    /** True when it reuses the serving key cache (ready as soon as that one is). */
    public boolean sharesKeys() {
      return sharesKeys;
    }
  }
}
