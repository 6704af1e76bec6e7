package io.tokengate.sidecar.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An HTTP/1.1 exchange written byte for byte over a socket, for what ordinary clients refuse or
 * repair: unnormalised paths ({@code /a/../b}, {@code //x}, {@code %2e%2e}), duplicate headers,
 * oversized headers, raw control characters.
 */
public final class RawHttp {
  /** A parsed response. */
  public record Response(
      int status, Map<String, List<String>> headers, String body, byte[] bodyBytes) {
    public String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null || v.isEmpty() ? null : v.get(0);
    }
  }

  private RawHttp() {}

  /** Sends {@code GET target} with {@code headers} (each "Name: value") and reads the response. */
  public static Response get(int port, String target, String... headers) throws IOException {
    StringBuilder sb = new StringBuilder();
    sb.append("GET ").append(target).append(" HTTP/1.1\r\n");
    sb.append("Host: 127.0.0.1:").append(port).append("\r\n");
    for (String h : headers) {
      sb.append(h).append("\r\n");
    }
    sb.append("Connection: close\r\n\r\n");
    return exchange(port, sb.toString().getBytes(StandardCharsets.ISO_8859_1));
  }

  /**
   * Sends {@code request} verbatim and reads one response (the server closes or sends a length).
   */
  public static Response exchange(int port, byte[] request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request);
      out.flush();
      return read(s.getInputStream());
    }
  }

  /** Reads one response from {@code in}. */
  public static Response read(InputStream in) throws IOException {
    String statusLine = line(in);
    if (statusLine == null) {
      throw new IOException("connection closed without a response");
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    Map<String, List<String>> headers = new LinkedHashMap<>();
    String l;
    while ((l = line(in)) != null && !l.isEmpty()) {
      int c = l.indexOf(':');
      headers
          .computeIfAbsent(
              l.substring(0, c).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
          .add(l.substring(c + 1).trim());
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    List<String> len = headers.get("content-length");
    List<String> te = headers.get("transfer-encoding");
    if (len != null) {
      body.write(in.readNBytes(Integer.parseInt(len.get(0))));
    } else if (te != null && te.get(0).equalsIgnoreCase("chunked")) {
      while (true) {
        int size = Integer.parseInt(line(in).split(";")[0].trim(), 16);
        if (size == 0) {
          // Trailer fields, if any, are added to the headers.
          while ((l = line(in)) != null && !l.isEmpty()) {
            int c = l.indexOf(':');
            headers
                .computeIfAbsent(
                    l.substring(0, c).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                .add(l.substring(c + 1).trim());
          }
          break;
        }
        body.write(in.readNBytes(size));
        line(in);
      }
    } else if (status >= 200 && status != 204 && status != 304) {
      body.write(in.readAllBytes());
    }
    return new Response(status, headers, body.toString(StandardCharsets.UTF_8), body.toByteArray());
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }
}
