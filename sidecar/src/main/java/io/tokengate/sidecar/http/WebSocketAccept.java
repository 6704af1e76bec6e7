package io.tokengate.sidecar.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * RFC 6455 section 4.2.2: a 101 completes a WebSocket handshake only with {@code Upgrade:
 * websocket} and the {@code Sec-WebSocket-Accept} derived from the client's key. Anything else is
 * not tunnelled.
 */
final class WebSocketAccept {
  private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

  private WebSocketAccept() {}

  static String expected(String key) {
    try {
      MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
      byte[] d = sha1.digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required by every Java platform", e);
    }
  }

  static boolean matches(String key, MultiMap response) {
    if (key == null) {
      return false;
    }
    String upgrade = response.get(HttpHeaders.UPGRADE);
    String accept = response.get("Sec-WebSocket-Accept");
    return upgrade != null
        && upgrade.trim().equalsIgnoreCase("websocket")
        && accept != null
        && accept.trim().equals(expected(key));
  }
}
