package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.tokengate.api.v1alpha1.Durations;

/** The protected application, on the pod's loopback interface. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Upstream {
  @Required
  @Min(1)
  @Max(65535)
  @JsonPropertyDescription(
      "The application's container port. The sidecar takes over this port's name in the pod so"
          + " Services targeting the name reach the sidecar; it forwards to 127.0.0.1:<port>.")
  public int port;

  @Default("60s")
  @Pattern(Durations.PATTERN)
  @JsonPropertyDescription(
      "How long the application may take to start answering before the sidecar returns 504.")
  public String timeout = "60s";

  public Upstream() {}

  public Upstream(int port) {
    this.port = port;
  }
}
