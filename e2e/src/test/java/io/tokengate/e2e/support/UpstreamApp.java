package io.tokengate.e2e.support;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local application for the standalone sidecar: answers every request on 127.0.0.1:{@code port}
 * with 200 and a JSON echo of what it received (method, path, headers), so a test sees what the
 * sidecar forwarded, including the identity headers it added and the ones it stripped.
 */
public final class UpstreamApp implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final AtomicInteger requests = new AtomicInteger();

  private UpstreamApp(HttpServer server) {
    this.server = server;
  }

  public static UpstreamApp start(int port) {
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
      UpstreamApp app = new UpstreamApp(server);
      server.createContext(
          "/",
          exchange -> {
            app.requests.incrementAndGet();
            try (InputStream body = exchange.getRequestBody()) {
              body.readAllBytes();
            }
            ObjectNode echo = JSON.createObjectNode();
            echo.put("app", "orders");
            echo.put("method", exchange.getRequestMethod());
            echo.put("path", exchange.getRequestURI().getRawPath());
            ObjectNode headers = echo.putObject("headers");
            for (Map.Entry<String, List<String>> h : exchange.getRequestHeaders().entrySet()) {
              headers.put(h.getKey().toLowerCase(), String.join(",", h.getValue()));
            }
            byte[] out = echo.toString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, out.length);
            exchange.getResponseBody().write(out);
            exchange.close();
          });
      server.setExecutor(Executors.newFixedThreadPool(4));
      server.start();
      return app;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the upstream app on 127.0.0.1:" + port, e);
    }
  }

  /** How many requests reached the app. */
  public int requests() {
    return requests.get();
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
