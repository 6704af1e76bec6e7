package io.tokengate.api.v1alpha1.apipolicy;

/** How the sidecar speaks to the application on loopback. */
public enum UpstreamProtocol {
  /** HTTP/1.1 (the default), with pooled keep-alive connections. */
  HTTP1,
  /**
   * HTTP/2 over cleartext with prior knowledge (no upgrade): for gRPC servers and other HTTP/2-only
   * applications. Streams are multiplexed over a few connections and response trailers (gRPC's
   * {@code grpc-status}) are passed back to the client.
   */
  H2C
}
