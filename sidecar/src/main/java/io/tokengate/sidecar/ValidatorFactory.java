package io.tokengate.sidecar;

import io.micrometer.core.instrument.MeterRegistry;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.sidecar.config.SidecarConfig;
import io.tokengate.sidecar.validation.IntrospectingValidator;
import io.tokengate.sidecar.validation.IssuerRouter;
import io.tokengate.sidecar.validation.JwksCache;
import io.tokengate.sidecar.validation.JwtValidator;
import io.tokengate.sidecar.validation.TokenValidator;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds the validator of each configuration load (one {@link JwtValidator} per trusted issuer,
 * routed by {@link IssuerRouter}), and keeps each issuer's key cache across reloads that leave that
 * issuer and its snapshot unchanged: a reload that only edits rules then needs no JWKS fetch and is
 * ready at once. A build is only a candidate until {@link #activate}: a refused reload {@link
 * #release}s it and the serving keys stay untouched.
 */
public final class ValidatorFactory {
  private final Vertx vertx;
  private final MeterRegistry registry;
  private final ValidationTuning tuning;
  private Map<String, JwksCache> current = Map.of();

  public ValidatorFactory(Vertx vertx, MeterRegistry registry, ValidationTuning tuning) {
    this.vertx = vertx;
    this.registry = registry;
    this.tuning = tuning;
  }

  /**
   * A validator for {@code config}.
   *
   * @throws IllegalArgumentException when an issuer cannot work; the message names the field
   */
  public synchronized Built build(SidecarConfig config) {
    Map<String, JwksCache> keys = new LinkedHashMap<>();
    List<JwksCache> started = new ArrayList<>();
    Map<String, TokenValidator> byIssuer = new LinkedHashMap<>();
    List<IntrospectingValidator> introspecting = new ArrayList<>();
    try {
      for (SidecarConfig.TrustedIssuer issuer : config.issuers()) {
        TokenIssuerSpec spec = issuer.issuer().getSpec();
        String identity =
            ResourceReader.write(spec)
                + "\n"
                + (issuer.snapshot() == null ? "" : issuer.snapshot().toString(true));
        JwksCache cache = current.get(identity);
        if (cache == null) {
          cache =
              JwksCache.start(
                  vertx, spec, Optional.ofNullable(issuer.snapshot()), registry, tuning);
          started.add(cache);
        }
        keys.put(identity, cache);
        TokenValidator validator =
            JwtValidator.create(cache, spec, issuer.audiences(), registry, tuning);
        if (spec.introspection != null) {
          validator =
              IntrospectingValidator.create(
                  vertx,
                  validator,
                  spec,
                  issuer.audiences(),
                  issuer.clientSecret(),
                  registry,
                  tuning);
          introspecting.add((IntrospectingValidator) validator);
        }
        byIssuer.put(IssuerTemplate.routingKey(spec), validator);
      }
      return new Built(IssuerRouter.of(byIssuer), keys, started.isEmpty());
    } catch (RuntimeException e) {
      // Their HTTP clients to the introspection endpoints; the key caches they share close below.
      introspecting.forEach(IntrospectingValidator::close);
      started.forEach(JwksCache::close);
      throw e;
    }
  }

  /** Makes {@code built}'s keys the ones later builds of the same issuers share. */
  public synchronized void activate(Built built) {
    current = new HashMap<>(built.keys);
  }

  /** Done with {@code built}: replaced (after in-flight requests finished) or never activated. */
  public synchronized void release(Built built) {
    built.validator.close();
    for (JwksCache k : built.keys.values()) {
      if (!current.containsValue(k)) {
        k.close();
      }
    }
  }

  /** Stops the current key caches (at shutdown). */
  public synchronized void close() {
    current.values().forEach(JwksCache::close);
    current = Map.of();
  }

  /** A validator and the key caches it reads. */
  public static final class Built {
    private final TokenValidator validator;
    private final Map<String, JwksCache> keys;
    private final boolean sharesKeys;

    Built(TokenValidator validator, Map<String, JwksCache> keys, boolean sharesKeys) {
      this.validator = validator;
      this.keys = keys;
      this.sharesKeys = sharesKeys;
    }

    public TokenValidator validator() {
      return validator;
    }

    /** True when it reuses only serving key caches (ready as soon as those are). */
    public boolean sharesKeys() {
      return sharesKeys;
    }
  }
}
