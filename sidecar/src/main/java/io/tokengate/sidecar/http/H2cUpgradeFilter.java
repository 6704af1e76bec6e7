package io.tokengate.sidecar.http;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import java.util.Base64;

/**
 * Sits between the HTTP/1.x decoder and Vert.x's cleartext HTTP/2 upgrade: only a well-formed
 * {@code Upgrade: h2c} (the sole protocol offered, {@code Connection: Upgrade, HTTP2-Settings} and
 * a decodable {@code HTTP2-Settings}, no body) reaches it, so the sidecar itself terminates HTTP/2
 * and still decides every stream. Any other request that mentions {@code h2c} loses its {@code
 * Upgrade} and {@code HTTP2-Settings} headers and is served as the HTTP/1.1 request it also is; it
 * is never answered with a half-written 400 that leaves the connection open.
 */
@ChannelHandler.Sharable
final class H2cUpgradeFilter extends ChannelInboundHandlerAdapter {
  static final String NAME = "tokengate-h2c-filter";
  private static final String HTTP2_SETTINGS = "HTTP2-Settings";
  static final H2cUpgradeFilter INSTANCE = new H2cUpgradeFilter();

  private H2cUpgradeFilter() {}

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest req) {
      HttpHeaders h = req.headers();
      if (mentionsH2c(h) && !isWellFormed(h)) {
        h.remove(HttpHeaderNames.UPGRADE);
        h.remove(HTTP2_SETTINGS);
      }
    }
    ctx.fireChannelRead(msg);
  }

  private static boolean mentionsH2c(HttpHeaders h) {
    for (String v : h.getAll(HttpHeaderNames.UPGRADE)) {
      for (String t : v.split(",")) {
        if (t.trim().equalsIgnoreCase("h2c")) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean isWellFormed(HttpHeaders h) {
    if (h.getAll(HttpHeaderNames.UPGRADE).size() != 1
        || !h.get(HttpHeaderNames.UPGRADE).trim().equalsIgnoreCase("h2c")
        || h.getAll(HTTP2_SETTINGS).size() != 1
        || h.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
      return false;
    }
    String length = h.get(HttpHeaderNames.CONTENT_LENGTH);
    if (length != null && !length.trim().equals("0")) {
      return false;
    }
    boolean upgrade = false;
    boolean settings = false;
    for (String v : h.getAll(HttpHeaderNames.CONNECTION)) {
      for (String t : v.split(",")) {
        upgrade |= t.trim().equalsIgnoreCase("upgrade");
        settings |= t.trim().equalsIgnoreCase("http2-settings");
      }
    }
    if (!upgrade || !settings) {
      return false;
    }
    String s = h.get(HTTP2_SETTINGS).trim();
    try {
      byte[] b = Base64.getUrlDecoder().decode(s);
      return b.length % 6 == 0;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
