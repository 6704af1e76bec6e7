package io.tokengate.api.v1alpha1;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The hash of a sidecar configuration: {@code sha256:<hex>} over its documents sorted by name, each
 * as {@code name NUL content NUL}. The operator computes it over the ConfigMap it renders ({@code
 * status.configHash}, the pod annotation {@code tokengate.io/config-hash}); the sidecar over the
 * files it loaded from that ConfigMap's volume (metric {@code tokengate_config_info}), so the two
 * are equal exactly when the sidecar runs what the operator rendered.
 */
public final class ConfigHash {
  private ConfigHash() {}

  public static String of(Map<String, String> documents) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (var e : new TreeMap<>(documents).entrySet()) {
        sha.update(e.getKey().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(e.getValue().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      }
      return "sha256:" + HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
