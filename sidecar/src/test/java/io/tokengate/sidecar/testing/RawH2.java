package io.tokengate.sidecar.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * An HTTP/2 (prior knowledge, cleartext) connection written frame by frame over a socket, for the
 * header blocks real clients refuse to send: values with CR or LF, a {@code :path} with spaces.
 * Header blocks are encoded as HPACK literals without indexing or Huffman coding; responses are
 * decoded with Netty's HPACK decoder.
 */
public final class RawH2 implements AutoCloseable {
  private static final byte[] PREFACE =
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  static final int DATA = 0;
  static final int HEADERS = 1;
  static final int RST_STREAM = 3;
  static final int SETTINGS = 4;
  static final int PING = 6;
  static final int GOAWAY = 7;
  static final int WINDOW_UPDATE = 8;
  static final int CONTINUATION = 9;
  private static final int MAX_FRAME = 16384;

  /**
   * What the server did with one stream: a status (with headers, body and trailers, null when none)
   * or a reset code.
   */
  public record Outcome(
      int status, Http2Headers headers, String body, long resetCode, Http2Headers trailers) {
    public boolean reset() {
      return resetCode >= 0;
    }
  }

  private final Socket socket;
  private final OutputStream out;
  private final DataInputStream in;
  private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);
  private int nextStream = 1;

  public RawH2(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(10_000);
    out = socket.getOutputStream();
    in = new DataInputStream(socket.getInputStream());
    out.write(PREFACE);
    frame(SETTINGS, 0, 0, new byte[0]);
    out.flush();
  }

  /**
   * Opens a stream with {@code headers} (pseudo-headers first, in order), END_STREAM set; returns
   * its id. Not flushed until {@link #flush()} or {@link #outcome(int)}.
   */
  public int request(List<Map.Entry<String, String>> headers) throws IOException {
    return request(headers, true);
  }

  /**
   * Opens a stream with {@code headers}; without {@code endStream} the request's body is still to
   * come (and never does unless the test writes it). Returns its id; not flushed.
   */
  public int request(List<Map.Entry<String, String>> headers, boolean endStream)
      throws IOException {
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    for (Map.Entry<String, String> h : headers) {
      block.write(0x00); // literal without indexing, new name
      string(block, h.getKey().getBytes(StandardCharsets.ISO_8859_1));
      string(block, h.getValue().getBytes(StandardCharsets.ISO_8859_1));
    }
    int id = nextStream;
    nextStream += 2;
    byte[] b = block.toByteArray();
    int endFlag = endStream ? 0x1 : 0;
    if (b.length <= MAX_FRAME) {
      frame(HEADERS, endFlag | 0x4, id, b); // END_STREAM | END_HEADERS
      return id;
    }
    // A block above the default SETTINGS_MAX_FRAME_SIZE goes on in CONTINUATION frames.
    frame(HEADERS, endFlag, id, java.util.Arrays.copyOfRange(b, 0, MAX_FRAME));
    for (int off = MAX_FRAME; off < b.length; off += MAX_FRAME) {
      int end = Math.min(b.length, off + MAX_FRAME);
      frame(CONTINUATION, end == b.length ? 0x4 : 0, id, java.util.Arrays.copyOfRange(b, off, end));
    }
    return id;
  }

  /** Resets stream {@code id} (RST_STREAM, CANCEL). Not flushed. */
  public void reset(int id) throws IOException {
    frame(RST_STREAM, 0, id, new byte[] {0, 0, 0, 8});
  }

  /**
   * Reads until the server sends GOAWAY or closes the connection (true), or the socket times out
   * (false). Frames read meanwhile are dropped.
   */
  public boolean goneAway() {
    try {
      while (true) {
        int len =
            (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        in.readUnsignedByte();
        in.readInt();
        in.readNBytes(len);
        if (type == GOAWAY) {
          return true;
        }
      }
    } catch (java.io.EOFException e) {
      return true;
    } catch (IOException e) {
      return e instanceof java.net.SocketException;
    }
  }

  /** A GET with the given path and extra headers. */
  public int get(String path, String... nameValues) throws IOException {
    java.util.ArrayList<Map.Entry<String, String>> h = new java.util.ArrayList<>();
    h.add(Map.entry(":method", "GET"));
    h.add(Map.entry(":scheme", "http"));
    h.add(Map.entry(":authority", "127.0.0.1"));
    h.add(Map.entry(":path", path));
    for (int i = 0; i + 1 < nameValues.length; i += 2) {
      h.add(Map.entry(nameValues[i], nameValues[i + 1]));
    }
    return request(h);
  }

  public void flush() throws IOException {
    out.flush();
  }

  /**
   * Reads frames until stream {@code id} ends (END_STREAM) or is reset; frames of other streams are
   * skipped. Throws if the connection closes first.
   */
  public Outcome outcome(int id) throws IOException {
    out.flush();
    Http2Headers headers = null;
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      int len =
          (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
      int type = in.readUnsignedByte();
      int flags = in.readUnsignedByte();
      int stream = in.readInt() & 0x7fffffff;
      byte[] payload = in.readNBytes(len);
      if (payload.length < len) {
        throw new IOException("connection closed in a frame");
      }
      switch (type) {
        case SETTINGS -> {
          if ((flags & 0x1) == 0) {
            frame(SETTINGS, 0x1, 0, new byte[0]);
            out.flush();
          }
        }
        case PING -> {
          if ((flags & 0x1) == 0) {
            frame(PING, 0x1, 0, payload);
            out.flush();
          }
        }
        case GOAWAY -> throw new IOException("GOAWAY received");
        case HEADERS -> {
          Http2Headers h = decode(stream, payload, flags);
          if (stream == id) {
            boolean trailing = headers != null;
            if (headers == null) {
              headers = h;
            }
            if ((flags & 0x1) != 0) {
              return new Outcome(
                  status(headers), headers, body.toString(), -1, trailing ? h : null);
            }
          }
        }
        case DATA -> {
          if (stream == id) {
            body.write(payload);
            if (payload.length > 0) {
              // Keep the connection and stream windows open.
              window(0, payload.length);
              window(id, payload.length);
            }
            if ((flags & 0x1) != 0) {
              return new Outcome(status(headers), headers, body.toString(), -1, null);
            }
          }
        }
        case RST_STREAM -> {
          if (stream == id) {
            long code =
                ((payload[0] & 0xffL) << 24)
                    | ((payload[1] & 0xff) << 16)
                    | ((payload[2] & 0xff) << 8)
                    | (payload[3] & 0xff);
            return new Outcome(-1, headers, null, code, null);
          }
        }
        default -> {}
      }
    }
  }

  private Http2Headers decode(int stream, byte[] payload, int flags) throws IOException {
    int off = 0;
    int len = payload.length;
    if ((flags & 0x8) != 0) { // PADDED
      int pad = payload[0] & 0xff;
      off = 1;
      len -= 1 + pad;
    }
    if ((flags & 0x20) != 0) { // PRIORITY
      off += 5;
      len -= 5;
    }
    ByteBuf buf = Unpooled.wrappedBuffer(payload, off, len);
    try {
      return decoder.decodeHeaders(stream, buf);
    } catch (Exception e) {
      throw new IOException("undecodable header block: " + e, e);
    } finally {
      buf.release();
    }
  }

  private static int status(Http2Headers h) {
    return h == null || h.status() == null ? 0 : Integer.parseInt(h.status().toString());
  }

  private void window(int stream, int increment) throws IOException {
    frame(
        WINDOW_UPDATE,
        0,
        stream,
        new byte[] {
          (byte) (increment >>> 24),
          (byte) (increment >>> 16),
          (byte) (increment >>> 8),
          (byte) increment
        });
  }

  private void frame(int type, int flags, int stream, byte[] payload) throws IOException {
    int len = payload.length;
    out.write(
        new byte[] {
          (byte) (len >>> 16),
          (byte) (len >>> 8),
          (byte) len,
          (byte) type,
          (byte) flags,
          (byte) (stream >>> 24),
          (byte) (stream >>> 16),
          (byte) (stream >>> 8),
          (byte) stream
        });
    out.write(payload);
  }

  /** An HPACK string literal, not Huffman-coded: a 7-bit-prefix length, then the bytes. */
  private static void string(ByteArrayOutputStream b, byte[] s) {
    int n = s.length;
    if (n < 127) {
      b.write(n);
    } else {
      b.write(127);
      n -= 127;
      while (n >= 128) {
        b.write((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      b.write(n);
    }
    b.write(s, 0, s.length);
  }

  /** True when the server closed the connection (reads end) within the socket timeout. */
  public boolean closedByServer() {
    try {
      while (in.read() != -1) {
        // drain
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
