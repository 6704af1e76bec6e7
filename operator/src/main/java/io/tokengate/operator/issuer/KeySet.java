package io.tokengate.operator.issuer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.tokenissuer.KeyInfo;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The usable public signing keys of an issuer, in a canonical form: only public members, sorted, so
 * that the same keys always give the same JSON and the same {@link #hash()}.
 */
public final class KeySet {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  /** JWK members that may be published; everything else (d, p, q, k ...) is dropped. */
  private static final Set<String> PUBLIC_MEMBERS =
      Set.of(
          "kty",
          "kid",
          "use",
          "alg",
          "key_ops",
          "n",
          "e",
          "crv",
          "x",
          "y",
          "x5c",
          "x5t",
          "x5t#S256");

  private static final Set<String> ASYMMETRIC_TYPES = Set.of("RSA", "EC", "OKP");

  private final List<Map<String, Object>> keys;
  private final String json;
  private final String hash;

  private KeySet(List<Map<String, Object>> keys) {
    this.keys = keys;
    try {
      this.json = JSON.writeValueAsString(Map.of("keys", keys));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    this.hash = "sha256:" + sha256(json);
  }

  /** Parses a JWKS document as served by an issuer. */
  public static KeySet parse(String body) {
    Map<String, Object> doc;
    try {
      doc = JSON.readValue(body, new TypeReference<>() {});
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw new IssuerFailure(Reasons.JWKS_INVALID, "the JWKS is not a JSON object");
    }
    if (doc == null || !(doc.get("keys") instanceof List<?> list)) {
      throw new IssuerFailure(Reasons.JWKS_INVALID, "the JWKS has no \"keys\" array");
    }
    return of(list.stream().filter(Map.class::isInstance).map(k -> (Map<?, ?>) k).toList());
  }

  /** Keeps the usable public keys of {@code jwks}; fails when none is left. */
  public static KeySet of(List<? extends Map<?, ?>> jwks) {
    List<Map<String, Object>> usable =
        jwks.stream()
            .filter(k -> ASYMMETRIC_TYPES.contains(String.valueOf(k.get("kty"))))
            .filter(k -> k.get("use") == null || "sig".equals(k.get("use")))
            .map(KeySet::publicMembers)
            .sorted(
                Comparator.comparing((Map<String, Object> k) -> String.valueOf(k.get("kid")))
                    .thenComparing(k -> String.valueOf(k.get("kty")))
                    .thenComparing(k -> String.valueOf(k.get("n")) + k.get("x")))
            .toList();
    if (usable.isEmpty()) {
      throw new IssuerFailure(
          Reasons.NO_USABLE_KEYS,
          "the JWKS holds "
              + jwks.size()
              + " keys but no public signing key (RSA, EC or OKP with use sig)");
    }
    return new KeySet(usable);
  }

  private static Map<String, Object> publicMembers(Map<?, ?> key) {
    Map<String, Object> out = new TreeMap<>();
    key.forEach(
        (name, value) -> {
          if (PUBLIC_MEMBERS.contains(String.valueOf(name)) && value != null) {
            out.put(String.valueOf(name), value);
          }
        });
    return out;
  }

  /** {@code {"keys":[...]}}, canonical. */
  public String json() {
    return json;
  }

  /** {@code sha256:<hex>} of {@link #json()}. */
  public String hash() {
    return hash;
  }

  public int size() {
    return keys.size();
  }

  /** What status shows of each key. */
  public List<KeyInfo> infos() {
    return keys.stream()
        .map(
            k ->
                new KeyInfo(
                    string(k.get("kid")),
                    string(k.get("kty")),
                    string(k.get("alg")),
                    string(k.get("use"))))
        .toList();
  }

  private static String string(Object o) {
    return o == null ? null : o.toString();
  }

  static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeySet k && k.hash.equals(hash);
  }

  @Override
  public int hashCode() {
    return Objects.hash(hash);
  }
}
