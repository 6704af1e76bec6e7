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

  @Default("HTTP1")
  @JsonPropertyDescription(
      "How the sidecar speaks to the application. HTTP1 (default): HTTP/1.1. H2C: HTTP/2 over"
          + " cleartext with prior knowledge (no upgrade), for gRPC servers and other HTTP/2-only"
          + " applications; response trailers (grpc-status) are passed back to the client."
          + " Clients may speak HTTP/1.1 or HTTP/2 (h2c upgrade or prior knowledge) to the sidecar"
          + " whatever this is; a refused gRPC request (content-type application/grpc) is answered"
          + " in gRPC's shape: grpc-status 16 UNAUTHENTICATED or 7 PERMISSION_DENIED, with the"
          + " RFC 6750 challenge in www-authenticate. WebSocket upgrades are not forwarded to an"
          + " H2C application.")
  public UpstreamProtocol protocol = UpstreamProtocol.HTTP1;

  public Upstream() {}

  public Upstream(int port) {
    this.port = port;
  }
}
