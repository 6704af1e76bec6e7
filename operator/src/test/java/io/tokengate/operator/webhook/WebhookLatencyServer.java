package io.tokengate.operator.webhook;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.operator.injection.SidecarInjector;
import io.tokengate.operator.injection.SidecarTemplate;
import io.tokengate.operator.webhook.tls.ServingCertificate;
import io.tokengate.operator.webhook.tls.WebhookTlsMaterial;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The admission endpoint as the benchmark drives it ({@code bench/webhook-latency.sh}): the real
 * HTTPS server, router, decoder and injector, a generated CA, and an in-memory index holding {@code
 * namespaces × policiesPerNamespace} ApiPolicies (namespace {@code ns-<i>}, policy {@code api-<j>}
 * selecting {@code app=app-<j>} on port 8080). Prints {@code LISTENING <port>} once it serves and
 * runs until killed.
 *
 * <p>It also times every admission in its own process, from the request's headers reaching the
 * router to the response's last byte written (reading the body, decode, decide, patch, encode), so
 * the report can tell that apart from TLS, the loopback and scheduling: {@code POST /bench/reset}
 * clears the figures, {@code GET /bench/server-timing} returns their percentiles in microseconds.
 *
 * <p>Usage: {@code WebhookLatencyServer <ca-pem-out> [namespaces] [policiesPerNamespace]}
 */
public final class WebhookLatencyServer {
  private WebhookLatencyServer() {}

  public static void main(String[] args) throws Exception {
    Path caOut = Path.of(args[0]);
    int namespaces = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    int perNamespace = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    List<ApiPolicy> policies = new ArrayList<>();
    for (int n = 0; n < namespaces; n++) {
      for (int p = 0; p < perNamespace; p++) {
        policies.add(WebhookTestKit.policy("ns-" + n, "api-" + p, "app-" + p, 8080));
      }
    }
    WebhookTlsMaterial material = WebhookTestKit.issuer().issue(List.of("localhost", "127.0.0.1"));
    Files.writeString(caOut, material.caBundlePem());

    Vertx vertx = Vertx.vertx();
    var endpoint =
        new AdmissionEndpoint(
            new SidecarInjector(SidecarTemplate.bundled(), WebhookTestKit.SIDECAR),
            PolicyIndex.of(policies),
            NativeSidecarSupport.fixed(true),
            AdmissionMetrics.inMemory());
    Router router = endpoint.router(vertx);
    ServerTiming timing = new ServerTiming();
    router
        .post("/bench/reset")
        .order(-2)
        .handler(
            ctx -> {
              timing.reset();
              ctx.response().end();
            });
    router.get("/bench/server-timing").order(-2).handler(ctx -> ctx.json(timing.summary()));
    router
        .post(AdmissionEndpoint.PATH)
        .order(-1)
        .handler(
            ctx -> {
              long start = System.nanoTime();
              ctx.addEndHandler(v -> timing.record(System.nanoTime() - start));
              ctx.next();
            });
    WebhookServer server = new WebhookServer(vertx, router, "127.0.0.1", 0);
    int port =
        server
            .start(ServingCertificate.of(material))
            .toCompletionStage()
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    System.out.println("LISTENING " + port + " policies=" + policies.size());
    System.out.flush();
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
    stop.await();
    server.stop();
    vertx.close();
  }

  /** Admission times in the process, microseconds. */
  static final class ServerTiming {
    private long[] micros = new long[1 << 16];
    private int count;

    synchronized void record(long nanos) {
      if (count == micros.length) {
        micros = java.util.Arrays.copyOf(micros, count * 2);
      }
      micros[count++] = nanos / 1000;
    }

    synchronized void reset() {
      count = 0;
    }

    synchronized java.util.Map<String, Object> summary() {
      long[] sorted = java.util.Arrays.copyOf(micros, count);
      java.util.Arrays.sort(sorted);
      java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
      out.put("count", count);
      for (double p : new double[] {50, 90, 99, 99.9}) {
        int k = Math.max(1, (int) Math.ceil(p / 100 * count));
        out.put(
            "p" + (p == Math.rint(p) ? String.valueOf((int) p) : String.valueOf(p)),
            count == 0 ? 0 : sorted[k - 1]);
      }
      out.put("max", count == 0 ? 0 : sorted[count - 1]);
      return out;
    }
  }
}
