package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.testing.RawH2;
import io.tokengate.sidecar.testing.RawHttp;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC through the sidecar with a real grpc-java client and server (Netty transport, plaintext
 * HTTP/2): the application is {@code upstream.protocol: H2C}; unary, server-, client- and
 * bidirectional streaming calls pass with a valid token, statuses and trailers come back from the
 * application unchanged, and refused calls get a gRPC status with the RFC 6750 challenge, without
 * reaching the application. The service is described by hand (string messages), so no code
 * generation is needed.
 */
class GrpcTest {
  static final String SERVICE = "tokengate.test.Echo";

  static final MethodDescriptor.Marshaller<String> UTF8 =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
          return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
          try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  static final MethodDescriptor<String, String> SAY =
      method("Say", MethodDescriptor.MethodType.UNARY);
  static final MethodDescriptor<String, String> ADMIN =
      method("Admin", MethodDescriptor.MethodType.UNARY);
  static final MethodDescriptor<String, String> FAIL =
      method("Fail", MethodDescriptor.MethodType.UNARY);
  static final MethodDescriptor<String, String> COUNT =
      method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
  static final MethodDescriptor<String, String> JOIN =
      method("Join", MethodDescriptor.MethodType.CLIENT_STREAMING);
  static final MethodDescriptor<String, String> CHAT =
      method("Chat", MethodDescriptor.MethodType.BIDI_STREAMING);

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> SUBJECT =
      Metadata.Key.of("x-auth-subject", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> WWW_AUTHENTICATE =
      Metadata.Key.of("www-authenticate", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> DETAIL =
      Metadata.Key.of("x-detail", Metadata.ASCII_STRING_MARSHALLER);

  static final String POLICY =
      """
      rules:
        - paths: ["/tokengate.test.Echo/Admin"]
          require: {scopes: [orders.admin]}
        - paths: ["/**"]
          require: {scopes: [orders.read]}
      forwardClaims:
        sub: X-Auth-Subject
      """;

  static TestIssuer idp;
  static Server app;
  static InProcessSidecar gate;
  static ManagedChannel channel;
  static String readToken;
  static final List<String> tokensUsed = new ArrayList<>();

  /** Calls that reached the application: method and the identity header it saw. */
  static final BlockingQueue<String> reached = new LinkedBlockingQueue<>();

  static final AtomicInteger calls = new AtomicInteger();

  static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<String, String>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(UTF8)
        .setResponseMarshaller(UTF8)
        .build();
  }

  static ServerServiceDefinition service() {
    ServerServiceDefinition echo =
        ServerServiceDefinition.builder(SERVICE)
            .addMethod(
                SAY,
                ServerCalls.asyncUnaryCall(
                    (req, out) -> {
                      out.onNext("hello " + req);
                      out.onCompleted();
                    }))
            .addMethod(
                ADMIN,
                ServerCalls.asyncUnaryCall(
                    (req, out) -> {
                      out.onNext("admin " + req);
                      out.onCompleted();
                    }))
            .addMethod(
                FAIL,
                ServerCalls.asyncUnaryCall(
                    (req, out) -> {
                      Metadata trailers = new Metadata();
                      trailers.put(DETAIL, "kept");
                      out.onError(
                          Status.NOT_FOUND
                              .withDescription("no such order " + req)
                              .asRuntimeException(trailers));
                    }))
            .addMethod(
                COUNT,
                ServerCalls.asyncServerStreamingCall(
                    (req, out) -> {
                      int n = Integer.parseInt(req);
                      for (int i = 1; i <= n; i++) {
                        out.onNext("item " + i);
                      }
                      out.onCompleted();
                    }))
            .addMethod(
                JOIN,
                ServerCalls.asyncClientStreamingCall(
                    out ->
                        new StreamObserver<String>() {
                          final StringBuilder joined = new StringBuilder();

                          @Override
                          public void onNext(String value) {
                            joined.append(value);
                          }

                          @Override
                          public void onError(Throwable t) {}

                          @Override
                          public void onCompleted() {
                            out.onNext(joined.toString());
                            out.onCompleted();
                          }
                        }))
            .addMethod(
                CHAT,
                ServerCalls.asyncBidiStreamingCall(
                    out ->
                        new StreamObserver<String>() {
                          @Override
                          public void onNext(String value) {
                            out.onNext("echo " + value);
                          }

                          @Override
                          public void onError(Throwable t) {}

                          @Override
                          public void onCompleted() {
                            out.onCompleted();
                          }
                        }))
            .build();
    ServerInterceptor recorder =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            calls.incrementAndGet();
            reached.add(
                call.getMethodDescriptor().getBareMethodName() + " " + headers.get(SUBJECT));
            return next.startCall(call, headers);
          }
        };
    return ServerInterceptors.intercept(echo, recorder);
  }

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(service())
            .build()
            .start();
    Path dir = Files.createTempDirectory("grpc-test");
    String policy =
        PolicyFiles.policyYaml(app.getPort(), POLICY)
            .replace("timeout: 2s}", "timeout: 5s, protocol: H2C}");
    assertThat(policy).contains("protocol: H2C");
    PolicyFiles.write(dir.resolve("policy.yaml"), policy);
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    gate = InProcessSidecar.start(dir);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", gate.port()).usePlaintext().build();
    readToken = token("scope", "orders.read");
  }

  @AfterAll
  static void stop() throws Exception {
    String log = gate.logText();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    gate.close();
    app.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    idp.close();
    for (String t : tokensUsed) {
      assertThat(log).doesNotContain(t.substring(t.lastIndexOf('.') + 1));
    }
  }

  @BeforeEach
  void clear() {
    reached.clear();
  }

  static String token(String... claims) {
    var b = idp.token();
    for (int i = 0; i + 1 < claims.length; i += 2) {
      b.claim(claims[i], claims[i + 1]);
    }
    String t = b.sign();
    tokensUsed.add(t);
    return t;
  }

  /** The channel with {@code authorization: Bearer <token>} on every call (none when null). */
  static Channel as(String token) {
    return as(channel, token);
  }

  static Channel as(Channel base, String token) {
    if (token == null) {
      return base;
    }
    Metadata m = new Metadata();
    m.put(AUTHORIZATION, "Bearer " + token);
    return ClientInterceptors.intercept(base, MetadataUtils.newAttachHeadersInterceptor(m));
  }

  static CallOptions deadline() {
    return CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  static String reachedNext() throws InterruptedException {
    return reached.poll(5, TimeUnit.SECONDS);
  }

  // --- allowed calls --------------------------------------------------------------------------

  @Test
  void aUnaryCallWithAValidTokenReachesTheApplicationWithTheIdentityHeader() throws Exception {
    String reply = ClientCalls.blockingUnaryCall(as(readToken), SAY, deadline(), "world");
    assertThat(reply).isEqualTo("hello world");
    assertThat(reachedNext()).isEqualTo("Say test-subject");
    JsonObject d = gate.lastDecision("/tokengate.test.Echo/Say");
    assertThat(d.getString("decision")).isEqualTo("allow");
    assertThat(d.getString("http.request.method")).isEqualTo("POST");
  }

  @Test
  void theApplicationsStatusAndTrailersComeBackUnchanged() {
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(as(readToken), FAIL, deadline(), "42"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription()).isEqualTo("no such order 42");
              assertThat(e.getTrailers().get(DETAIL)).isEqualTo("kept");
            });
  }

  @Test
  void serverStreamingPassesEveryMessageAndTheFinalStatus() {
    Iterator<String> items =
        ClientCalls.blockingServerStreamingCall(as(readToken), COUNT, deadline(), "50");
    List<String> got = new ArrayList<>();
    items.forEachRemaining(got::add);
    assertThat(got).hasSize(50).startsWith("item 1").endsWith("item 50");
  }

  @Test
  void clientStreamingPassesEveryMessage() throws Exception {
    CompletableFuture<String> result = new CompletableFuture<>();
    StreamObserver<String> requests =
        ClientCalls.asyncClientStreamingCall(
            as(readToken).newCall(JOIN, deadline()), observer(result, new ArrayList<>()));
    for (int i = 0; i < 20; i++) {
      requests.onNext(Integer.toString(i % 10));
    }
    requests.onCompleted();
    assertThat(result.get(10, TimeUnit.SECONDS)).isEqualTo("01234567890123456789");
  }

  @Test
  void bidiStreamingIsInterleavedNotBuffered() throws Exception {
    BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    CompletableFuture<String> done = new CompletableFuture<>();
    StreamObserver<String> requests =
        ClientCalls.asyncBidiStreamingCall(
            as(readToken).newCall(CHAT, deadline()),
            new StreamObserver<String>() {
              @Override
              public void onNext(String value) {
                replies.add(value);
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                done.complete("ok");
              }
            });
    // Each reply arrives before the next message is sent: the stream is open both ways at once.
    for (String m : List.of("a", "b", "c")) {
      requests.onNext(m);
      assertThat(replies.poll(5, TimeUnit.SECONDS)).isEqualTo("echo " + m);
    }
    requests.onCompleted();
    assertThat(done.get(10, TimeUnit.SECONDS)).isEqualTo("ok");
  }

  // --- refused calls --------------------------------------------------------------------------

  @Test
  void aCallWithoutATokenIsUnauthenticatedWithTheBearerChallenge() throws Exception {
    StatusRuntimeException e =
        refused(() -> ClientCalls.blockingUnaryCall(as(null), SAY, deadline(), "x"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(e.getStatus().getDescription()).isEqualTo("a bearer token is required");
    assertThat(e.getTrailers().getAll(WWW_AUTHENTICATE))
        .contains("Bearer realm=\"shop/orders-api\"");
    assertThat(reached.poll(300, TimeUnit.MILLISECONDS)).as("reached the application").isNull();
    JsonObject d = gate.lastDecision("/tokengate.test.Echo/Say");
    assertThat(d.getString("decision")).isEqualTo("deny");
    assertThat(d.getString("reason")).isEqualTo("missing_token");
    assertThat(d.getInteger("http.response.status_code")).isEqualTo(401);
  }

  @Test
  void onTheWireARefusedCallIsATrailersOnlyGrpcResponse() throws Exception {
    try (RawH2 h2 = new RawH2(gate.port())) {
      RawH2.Outcome o = h2.outcome(h2.request(grpcCall("application/grpc", null)));
      assertThat(o.status()).isEqualTo(200);
      assertThat(o.trailers()).as("one header block ends the stream").isNull();
      assertThat(o.body()).isEmpty();
      assertThat(o.headers().get("content-type").toString()).isEqualTo("application/grpc");
      assertThat(o.headers().get("grpc-status").toString()).isEqualTo("16");
      assertThat(o.headers().get("grpc-message").toString())
          .isEqualTo("a bearer token is required");
      assertThat(o.headers().getAll("www-authenticate").toString())
          .contains("Bearer realm=\"shop/orders-api\"");
      // application/grpc+proto is gRPC too; 7 for a token without the scope.
      RawH2.Outcome denied =
          h2.outcome(h2.request(grpcCall("application/grpc+proto", "Bearer " + readToken)));
      assertThat(denied.status()).isEqualTo(200);
      assertThat(denied.headers().get("grpc-status").toString()).isEqualTo("7");
      // gRPC-Web carries its status in the body: it gets the plain refusal.
      RawH2.Outcome web = h2.outcome(h2.request(grpcCall("application/grpc-web", null)));
      assertThat(web.status()).isEqualTo(401);
      assertThat(web.headers().get("content-type").toString())
          .isEqualTo("application/problem+json");
    }
    // gRPC needs HTTP/2: an HTTP/1.1 request with that content type gets the plain refusal.
    RawHttp.Response http1 =
        RawHttp.get(gate.port(), "/tokengate.test.Echo/Say", "Content-Type: application/grpc");
    assertThat(http1.status()).isEqualTo(401);
    assertThat(reached.poll(300, TimeUnit.MILLISECONDS)).as("reached the application").isNull();
  }

  static List<java.util.Map.Entry<String, String>> grpcCall(String contentType, String auth) {
    List<java.util.Map.Entry<String, String>> h = new ArrayList<>();
    h.add(java.util.Map.entry(":method", "POST"));
    h.add(java.util.Map.entry(":scheme", "http"));
    h.add(java.util.Map.entry(":authority", "127.0.0.1"));
    h.add(java.util.Map.entry(":path", "/tokengate.test.Echo/Admin"));
    h.add(java.util.Map.entry("content-type", contentType));
    h.add(java.util.Map.entry("te", "trailers"));
    if (auth != null) {
      h.add(java.util.Map.entry("authorization", auth));
    }
    return h;
  }

  @Test
  void anInvalidTokenIsUnauthenticatedWithInvalidToken() throws Exception {
    String expired =
        idp.token()
            .claim("scope", "orders.read")
            .issuedAt(Instant.now().minusSeconds(7200))
            .expiresAt(Instant.now().minusSeconds(3600))
            .sign();
    tokensUsed.add(expired);
    String tampered = readToken.substring(0, readToken.length() - 4) + "AAAA";
    for (String t : List.of(expired, tampered, "not-a-jwt")) {
      StatusRuntimeException e =
          refused(() -> ClientCalls.blockingUnaryCall(as(t), SAY, deadline(), "x"));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(e.getTrailers().get(WWW_AUTHENTICATE))
          .startsWith("Bearer realm=\"shop/orders-api\", error=\"invalid_token\"");
    }
    assertThat(reached.poll(300, TimeUnit.MILLISECONDS)).as("reached the application").isNull();
  }

  @Test
  void aTokenWithoutTheScopeIsPermissionDeniedWithInsufficientScope() throws Exception {
    StatusRuntimeException e =
        refused(() -> ClientCalls.blockingUnaryCall(as(readToken), ADMIN, deadline(), "x"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(e.getStatus().getDescription())
        .isEqualTo("the token lacks a scope this request requires");
    assertThat(e.getTrailers().get(WWW_AUTHENTICATE))
        .contains("error=\"insufficient_scope\"")
        .contains("scope=\"orders.admin\"");
    assertThat(reached.poll(300, TimeUnit.MILLISECONDS)).as("reached the application").isNull();
    // With the scope, the same method is served.
    String admin = token("scope", "orders.read orders.admin");
    assertThat(ClientCalls.blockingUnaryCall(as(admin), ADMIN, deadline(), "y"))
        .isEqualTo("admin y");
    assertThat(reachedNext()).isEqualTo("Admin test-subject");
  }

  @Test
  void refusedStreamingCallsNeverOpenACallAtTheApplication() throws Exception {
    int before = calls.get();
    // Client streaming: the messages already sent are dropped, the call ends with the status.
    CompletableFuture<String> joined = new CompletableFuture<>();
    StreamObserver<String> requests =
        ClientCalls.asyncClientStreamingCall(
            as(null).newCall(JOIN, deadline()), observer(joined, new ArrayList<>()));
    for (int i = 0; i < 5; i++) {
      requests.onNext("m" + i);
    }
    requests.onCompleted();
    assertThat(statusOf(joined)).isEqualTo(Status.Code.UNAUTHENTICATED);
    // Bidi streaming with a token lacking the scope.
    String none = token("scope", "other");
    CompletableFuture<String> chat = new CompletableFuture<>();
    StreamObserver<String> chatting =
        ClientCalls.asyncBidiStreamingCall(
            as(none).newCall(CHAT, deadline()), observer(chat, new ArrayList<>()));
    chatting.onNext("hi");
    assertThat(statusOf(chat)).isEqualTo(Status.Code.PERMISSION_DENIED);
    // Server streaming without a token.
    Iterator<String> items =
        ClientCalls.blockingServerStreamingCall(as(null), COUNT, deadline(), "3");
    StatusRuntimeException e = refused(items::hasNext);
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(calls.get()).as("calls that reached the application").isEqualTo(before);
  }

  @Test
  void theChannelStaysUsableAfterRefusals() {
    for (int i = 0; i < 3; i++) {
      refused(() -> ClientCalls.blockingUnaryCall(as(null), SAY, deadline(), "x"));
      assertThat(ClientCalls.blockingUnaryCall(as(readToken), SAY, deadline(), "again"))
          .isEqualTo("hello again");
    }
  }

  @Test
  void anApplicationThatIsDownIsUnavailable() throws Exception {
    int dead;
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      dead = s.getLocalPort();
    }
    Path dir = Files.createTempDirectory("grpc-down");
    PolicyFiles.write(
        dir.resolve("policy.yaml"),
        PolicyFiles.policyYaml(dead, POLICY)
            .replace("timeout: 2s}", "timeout: 2s, protocol: H2C}"));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    try (InProcessSidecar down = InProcessSidecar.start(dir)) {
      ManagedChannel ch =
          NettyChannelBuilder.forAddress("127.0.0.1", down.port()).usePlaintext().build();
      try {
        StatusRuntimeException e =
            refused(() -> ClientCalls.blockingUnaryCall(as(ch, readToken), SAY, deadline(), "x"));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).contains("refused or closed the connection");
      } finally {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  static StatusRuntimeException refused(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("the call was not refused");
  }

  static Status.Code statusOf(CompletableFuture<String> f) throws Exception {
    try {
      f.get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      return Status.fromThrowable(e.getCause()).getCode();
    }
    return Status.Code.OK;
  }

  static StreamObserver<String> observer(CompletableFuture<String> last, List<String> all) {
    return new StreamObserver<String>() {
      @Override
      public void onNext(String value) {
        all.add(value);
      }

      @Override
      public void onError(Throwable t) {
        last.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        last.complete(all.isEmpty() ? null : all.get(all.size() - 1));
      }
    };
  }
}
