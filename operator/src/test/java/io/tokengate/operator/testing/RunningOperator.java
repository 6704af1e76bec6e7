package io.tokengate.operator.testing;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.tokengate.operator.TokengateOperator;
import io.tokengate.operator.config.OperatorSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** The operator's reconcilers, started in the test JVM against the test API server. */
public final class RunningOperator implements AutoCloseable {
  private final TokengateOperator operator;

  private RunningOperator(TokengateOperator operator) {
    this.operator = operator;
  }

  /** Starts with the defaults of {@link OperatorSettings} overridden by {@code settings}. */
  public static RunningOperator start(KubernetesClient client, Map<String, String> settings) {
    TokengateOperator operator =
        new TokengateOperator(
            client,
            settings(settings),
            Optional.empty(),
            () -> System.err.println("[tokengate tests] leadership lost"));
    operator.start();
    return new RunningOperator(operator);
  }

  public static OperatorSettings settings(Map<String, String> overrides) {
    Map<String, String> values = new HashMap<>();
    values.put("tokengate.leader-election.enabled", "false");
    values.putAll(overrides);
    SmallRyeConfig config =
        new SmallRyeConfigBuilder()
            .withMapping(OperatorSettings.class)
            .withConverter(Duration.class, 100, new DurationConverter())
            .withDefaultValues(values)
            .build();
    return config.getConfigMapping(OperatorSettings.class);
  }

  public TokengateOperator operator() {
    return operator;
  }

  @Override
  public void close() {
    operator.stop();
  }
}
