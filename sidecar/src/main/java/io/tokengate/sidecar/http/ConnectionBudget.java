package io.tokengate.sidecar.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.util.ByteProcessor;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.impl.ConnectionBase;
import java.nio.charset.StandardCharsets;

/**
 * One event loop's budget of client connections, and of the request heads they are sending: every
 * accepted connection is counted (before it sends a byte), and bytes of a head not yet complete are
 * bounded in count, size and time. A head in progress is held by the HTTP decoder; without this
 * budget a few thousand unfinished heads would fill the heap.
 *
 * <ul>
 *   <li>Connections beyond {@link Limits#connections} are answered 503 with {@code Retry-After} and
 *       closed when they are accepted.
 *   <li>Each connection's first {@link Limits#freeHeadBytes} bytes of a head are its own; bytes
 *       beyond draw on a shared allowance of the loop ({@link Limits#sharedHeadBytes}). A head that
 *       finds it exhausted is answered 503 and its connection closed, so a flood of large heads
 *       cannot crowd out ordinary requests.
 *   <li>A head must be complete within {@link Limits#headTimeoutMillis} of its first byte (408,
 *       closed: Envoy's {@code request_headers_timeout}, nginx's {@code client_header_timeout}),
 *       and a connection waiting for its next request is closed after {@link
 *       Limits#idleTimeoutMillis} (nginx's {@code keepalive_timeout}). A new connection waits at
 *       most the head timeout for its first byte.
 * </ul>
 *
 * <p>Once a connection speaks HTTP/2 its header blocks are bounded by HTTP/2's own settings (see
 * {@link GateVerticle}); it is still counted, and closed (GOAWAY) once it has had no open stream
 * for {@link Limits#idleTimeoutMillis}. Everything here runs on the event loop that owns it.
 */
final class ConnectionBudget {
  static final String HANDLER_NAME = "tokengate-head-guard";

  /**
   * Limits of one event loop.
   *
   * @param connections open client connections
   * @param freeHeadBytes bytes of a head in progress every connection may hold
   * @param sharedHeadBytes bytes beyond that, over all heads in progress on the loop
   * @param headTimeoutMillis time from a head's first byte to its end
   * @param idleTimeoutMillis time a kept-alive connection may wait for its next request
   */
  record Limits(
      int connections,
      int freeHeadBytes,
      long sharedHeadBytes,
      long headTimeoutMillis,
      long idleTimeoutMillis) {}

  private static final byte[] OVERLOADED =
      canned(
          "503 Service Unavailable\r\nRetry-After: 1",
          "overloaded",
          "Service Unavailable",
          503,
          "the sidecar is at capacity; retry");
  private static final byte[] HEAD_TIMEOUT =
      canned(
          "408 Request Timeout",
          "header_timeout",
          "Request Timeout",
          408,
          "the request head was not complete in time");

  private static final byte[] FRAMING_CONFLICT =
      canned(
          "400 Bad Request",
          "invalid_framing",
          "Bad Request",
          400,
          "the request has both Transfer-Encoding and Content-Length");

  private final Limits limits;
  private final java.util.function.Consumer<String> shed;
  private int open;
  private long sharedInUse;
  private Guard head;
  private Guard tail;

  /**
   * @param shed told the reason ({@code overloaded}, {@code header_timeout}) of each connection
   *     refused here, for the metrics
   */
  ConnectionBudget(Limits limits, java.util.function.Consumer<String> shed) {
    this.limits = limits;
    this.shed = shed;
  }

  int open() {
    return open;
  }

  long sharedHeadBytesInUse() {
    return sharedInUse;
  }

  /**
   * Budgets by the event loop they belong to, for connections accepted by {@link AcceptHook} before
   * Vert.x has seen them.
   */
  private static final java.util.Map<io.netty.util.concurrent.EventExecutor, ConnectionBudget>
      BY_LOOP = new java.util.concurrent.ConcurrentHashMap<>();

  /** Ports whose accepted connections are guarded. */
  private static final java.util.Set<Integer> GUARDED_PORTS =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Serves connections accepted on {@code loop} (call on that loop). */
  void register(io.netty.util.concurrent.EventExecutor loop) {
    this.loop = loop;
    BY_LOOP.put(loop, this);
  }

  void unregister() {
    if (loop != null) {
      BY_LOOP.remove(loop, this);
    }
  }

  private io.netty.util.concurrent.EventExecutor loop;

  /** Connections accepted on {@code port} are counted and guarded from their first byte. */
  static void guardPort(int port) {
    GUARDED_PORTS.add(port);
  }

  static void unguardPort(int port) {
    GUARDED_PORTS.remove(port);
  }

  /**
   * The listening socket's handler: puts a {@link Guard} first in every accepted connection's
   * pipeline, before Vert.x configures it, so the connection is counted and its first head is
   * bounded like every later one (Vert.x only reports an HTTP/1.x connection once its first head is
   * parsed).
   */
  @io.netty.channel.ChannelHandler.Sharable
  static final class AcceptHook extends ChannelInboundHandlerAdapter {
    static final AcceptHook INSTANCE = new AcceptHook();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Channel child
          && ctx.channel().localAddress() instanceof java.net.InetSocketAddress local
          && GUARDED_PORTS.contains(local.getPort())) {
        child.pipeline().addFirst(HANDLER_NAME, new Guard());
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** Counts a connection the moment its guard is on its event loop; sheds it when spent. */
  private void accepted(Guard g, ChannelHandlerContext ctx) {
    open++;
    g.budget = this;
    g.idleSince = System.nanoTime();
    if (open > limits.connections()) {
      shed.accept("overloaded");
      g.refuse(OVERLOADED);
      return;
    }
    link(g);
  }

  /** The head of {@code req} is complete: its bytes leave the budget until the response ends. */
  void headComplete(HttpServerRequest req) {
    Guard g = guardOf(req);
    if (g == null) {
      return;
    }
    g.endHead();
    if (req.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
      // HTTP/2 bounds header blocks with its own settings, and streams share the connection:
      // only its idle time is watched from now on.
      g.tunnel = true;
      if (g.http2 == null && g.ctx != null) {
        g.http2 = g.ctx.pipeline().get(Http2ConnectionHandler.class);
      }
      g.idleSince = 0;
      return;
    }
    req.response().endHandler(v -> g.awaitHead(System.nanoTime()));
  }

  /** The connection was handed over to a tunnel (WebSocket): no more heads on it. */
  static void tunnelled(HttpServerRequest req) {
    Guard g = guardOf(req);
    if (g != null) {
      g.endHead();
      g.tunnel = true;
    }
  }

  private static Guard guardOf(HttpServerRequest req) {
    if (req.connection() instanceof ConnectionBase base
        && base.channel().pipeline().get(HANDLER_NAME) instanceof Guard g) {
      return g;
    }
    return null;
  }

  /**
   * Writes {@code response} straight to the connection of {@code req}, reading nothing more, and
   * closes it.
   */
  static void closeWith(HttpServerRequest req, byte[] response) {
    if (req.connection() instanceof ConnectionBase base) {
      Channel ch = base.channel();
      ch.config().setAutoRead(false);
      if (ch.pipeline().get(HANDLER_NAME) instanceof Guard g) {
        g.endHead();
        g.tunnel = true;
      }
      ChannelHandlerContext first = ch.pipeline().firstContext();
      (first != null
              ? first.writeAndFlush(Unpooled.wrappedBuffer(response))
              : ch.writeAndFlush(Unpooled.wrappedBuffer(response)))
          .addListener(ChannelFutureListener.CLOSE);
    } else {
      req.connection().close();
    }
  }

  /** Closes heads that took too long and connections idle too long. */
  void sweep(long now) {
    long headTimeout = limits.headTimeoutMillis() * 1_000_000L;
    long idleTimeout = limits.idleTimeoutMillis() * 1_000_000L;
    for (Guard g = head; g != null; g = g.next) {
      if (g.http2 != null) {
        sweepHttp2(g, now, idleTimeout);
        continue;
      }
      if (!g.inHead || g.tunnel || g.ctx == null) {
        continue;
      }
      if (g.firstByte != 0) {
        if (now - g.firstByte >= headTimeout) {
          shed.accept("header_timeout");
          g.refuse(HEAD_TIMEOUT);
        }
      } else if (now - g.idleSince >= (g.served ? idleTimeout : headTimeout)) {
        g.ctx.close();
      }
    }
  }

  /**
   * An HTTP/2 connection without open streams is idle from the first sweep that sees it so, or from
   * its last stream's start, whichever is later; idle for {@code idleTimeout}, it is closed through
   * the HTTP/2 handler, which says GOAWAY first.
   */
  private static void sweepHttp2(Guard g, long now, long idleTimeout) {
    if (g.http2.connection().numActiveStreams() > 0) {
      g.idleSince = 0;
    } else if (g.idleSince == 0) {
      g.idleSince = now;
    } else if (now - g.idleSince >= idleTimeout) {
      g.ctx.channel().close();
    }
  }

  private void link(Guard g) {
    g.linked = true;
    g.prev = tail;
    if (tail != null) {
      tail.next = g;
    } else {
      head = g;
    }
    tail = g;
  }

  private void closed(Guard g) {
    open--;
    g.endHead();
    if (g.linked) {
      if (g.prev != null) {
        g.prev.next = g.next;
      } else {
        head = g.next;
      }
      if (g.next != null) {
        g.next.prev = g.prev;
      } else {
        tail = g.prev;
      }
      g.linked = false;
    }
  }

  /** A complete response written before any HTTP codec is involved. */
  private static byte[] canned(
      String statusLine, String reason, String title, int status, String detail) {
    String body =
        "{\"type\":\"https://tokengate.io/problems/"
            + reason
            + "\",\"title\":\""
            + title
            + "\",\"status\":"
            + status
            + ",\"detail\":\""
            + detail
            + "\"}";
    return ("HTTP/1.1 "
            + statusLine
            + "\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            + "Cache-Control: no-store\r\nContent-Length: "
            + body.length()
            + "\r\n\r\n"
            + body)
        .getBytes(StandardCharsets.US_ASCII);
  }

  /** Counts the bytes of one connection's head in progress, ahead of the HTTP decoder. */
  private static final class Guard extends ChannelInboundHandlerAdapter implements ByteProcessor {
    ConnectionBudget budget;
    Guard prev;
    Guard next;
    boolean linked;
    ChannelHandlerContext ctx;
    boolean inHead = true;
    boolean served;
    boolean tunnel;
    boolean protocolKnown;
    // The connection's HTTP/2 handler once it speaks HTTP/2: its open streams tell idle from busy.
    Http2ConnectionHandler http2;
    long idleSince;
    long firstByte;
    long headBytes;
    long sharedBytes;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      // Runs once the accepted channel is registered on its event loop.
      this.ctx = ctx;
      ConnectionBudget b = BY_LOOP.get(ctx.executor());
      if (b == null) {
        ctx.pipeline().remove(this);
        return;
      }
      b.accepted(this, ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (budget != null) {
        budget.closed(this);
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (budget == null || !(msg instanceof ByteBuf buf)) {
        ctx.fireChannelRead(msg);
        return;
      }
      if (tunnel) {
        if (refused) {
          buf.release();
        } else {
          ctx.fireChannelRead(msg);
        }
        return;
      }
      if (inHead) {
        int n = buf.readableBytes();
        if (n > 0 && firstByte == 0) {
          firstByte = System.nanoTime();
        }
        headBytes += n;
        long over = headBytes - budget.limits.freeHeadBytes();
        if (over > sharedBytes) {
          long more = over - sharedBytes;
          if (budget.sharedInUse + more > budget.limits.sharedHeadBytes()) {
            budget.shed.accept("overloaded");
            buf.release();
            refuse(OVERLOADED);
            return;
          }
          budget.sharedInUse += more;
          sharedBytes = over;
        }
        if (!headScanned && buf.isReadable()) {
          buf.forEachByte(this);
          if (framingConflict) {
            budget.shed.accept("invalid_framing");
            buf.release();
            refuse(FRAMING_CONFLICT);
            return;
          }
        }
      }
      if (!protocolKnown) {
        feedUntilProtocolKnown(ctx, buf);
        return;
      }
      ctx.fireChannelRead(msg);
    }

    /**
     * Vert.x decides between HTTP/1.x and HTTP/2 from the first bytes and only then builds the
     * HTTP/1.x pipeline, whose first request it parses at once. The first few bytes are passed on
     * alone, so that decision is made and {@link H2cUpgradeFilter} is in place before the first
     * request head can be complete.
     */
    private void feedUntilProtocolKnown(ChannelHandlerContext ctx, ByteBuf buf) {
      protocolKnown = true;
      // The shortest head that can carry an h2c upgrade is far longer than this: passing these
      // bytes first lets Vert.x decide the protocol without completing a request.
      int first = Math.min(FIRST_PART, buf.readableBytes());
      ctx.fireChannelRead(buf.readRetainedSlice(first));
      ChannelPipeline p = ctx.pipeline();
      if (p.get("httpDecoder") != null && p.get(H2cUpgradeFilter.NAME) == null) {
        p.addAfter("httpDecoder", H2cUpgradeFilter.NAME, H2cUpgradeFilter.INSTANCE);
      }
      if (buf.isReadable()) {
        ctx.fireChannelRead(buf);
      } else {
        buf.release();
      }
    }

    private static final int FIRST_PART = 16;

    private boolean refused;

    // The framing scan of the head in progress. Netty's decoder drops a Content-Length that comes
    // with Transfer-Encoding before any handler sees the request, so the conflict is only visible
    // in the raw head: such a request is answered 400 and the connection closed (RFC 9112 section
    // 6.3), before the decoder reads it. The scan stops at the head's blank line, so body bytes are
    // never read as header names.
    private static final byte[] CONTENT_LENGTH =
        "content-length".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING =
        "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
    private final byte[] name = new byte[TRANSFER_ENCODING.length + 1];
    private int nameLength;
    private int column;
    private boolean inName = true;
    private boolean headScanned;
    private boolean sawContentLength;
    private boolean sawTransferEncoding;
    private boolean framingConflict;

    /** One byte of the raw head; false once the head's blank line has been read. */
    @Override
    public boolean process(byte b) {
      if (b == '\n') {
        if (column == 0 || (column == 1 && name[0] == '\r')) {
          headScanned = true;
          framingConflict = sawContentLength && sawTransferEncoding;
          return false;
        }
        column = 0;
        nameLength = 0;
        inName = true;
        return true;
      }
      if (column++ == 0 && b == '\r') {
        name[0] = '\r';
        nameLength = 0;
        return true;
      }
      if (inName) {
        if (b == ':') {
          inName = false;
          int end = nameLength;
          while (end > 0 && (name[end - 1] == ' ' || name[end - 1] == '\t')) {
            end--;
          }
          sawContentLength |= nameIs(CONTENT_LENGTH, end);
          sawTransferEncoding |= nameIs(TRANSFER_ENCODING, end);
        } else if (nameLength < name.length) {
          name[nameLength++] = (byte) (b >= 'A' && b <= 'Z' ? b + 32 : b);
        } else {
          inName = false;
        }
      }
      return true;
    }

    private boolean nameIs(byte[] expected, int length) {
      if (length != expected.length) {
        return false;
      }
      for (int i = 0; i < length; i++) {
        if (name[i] != expected[i]) {
          return false;
        }
      }
      return true;
    }

    private void rearmScan() {
      nameLength = 0;
      column = 0;
      inName = true;
      headScanned = false;
      sawContentLength = false;
      sawTransferEncoding = false;
      framingConflict = false;
      name[0] = 0;
    }

    void endHead() {
      inHead = false;
      firstByte = 0;
      headBytes = 0;
      if (budget != null) {
        budget.sharedInUse -= sharedBytes;
      }
      sharedBytes = 0;
    }

    void awaitHead(long now) {
      if (!tunnel) {
        rearmScan();
        inHead = true;
        served = true;
        idleSince = now;
      }
    }

    /** Answers with a canned response and closes, reading nothing more. */
    void refuse(byte[] response) {
      endHead();
      tunnel = true;
      refused = true;
      ctx.channel().config().setAutoRead(false);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(response)).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
