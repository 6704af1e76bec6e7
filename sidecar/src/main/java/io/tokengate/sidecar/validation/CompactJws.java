package io.tokengate.sidecar.validation;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A compact JWS taken apart strictly, before any key is looked at: three parts of canonical
 * base64url (no padding, no stray characters, no non-zero trailing bits, so one signature has
 * exactly one spelling), a JSON header with an allowed {@code alg}, no {@code crit}, an accepted
 * {@code typ}, and a JSON claims set. Header members that point at keys ({@code jku}, {@code x5u},
 * {@code jwk}, {@code x5c}) are parsed but never used.
 */
record CompactJws(JWSHeader header, JWTClaimsSet claims, byte[] signingInput, Base64URL signature) {

  /** Longer tokens are refused outright; the HTTP layer enforces its own, smaller, header limit. */
  static final int MAX_TOKEN_CHARS = 64 * 1024;

  private static final Set<String> ACCEPTED_TYPES = Set.of("jwt", "at+jwt", "application/at+jwt");

  /**
   * Parses {@code token}; {@code allowed} is the issuer's algorithm allow-list.
   *
   * @throws GateFailure 401 invalid_token with reason malformed, jwe_not_supported,
   *     unsupported_algorithm, unsupported_critical_header, unsupported_type or bad_signature (no
   *     signature at all)
   */
  static CompactJws parse(String token, Set<JWSAlgorithm> allowed) {
    if (token == null || token.isEmpty()) {
      throw malformed("the token is empty");
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw malformed("the token is longer than " + MAX_TOKEN_CHARS + " characters");
    }
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    int dots = 0;
    for (int i = 0; i < token.length(); i++) {
      if (token.charAt(i) == '.') {
        dots++;
      }
    }
    if (dots == 4) {
      throw GateFailure.invalidToken(
          RejectionReason.JWE_NOT_SUPPORTED,
          "the token is encrypted (JWE); only signed tokens (JWS) are accepted");
    }
    if (dots != 2) {
      throw malformed("a signed token has 3 dot-separated parts, this one has " + (dots + 1));
    }

    byte[] headerBytes = decodeStrict(token, 0, first);
    if (headerBytes == null || headerBytes.length == 0) {
      throw malformed("the header is not canonical base64url");
    }
    Map<String, Object> headerJson = parseObject(headerBytes, "header");

    if (headerJson.containsKey("enc")) {
      throw GateFailure.invalidToken(
          RejectionReason.JWE_NOT_SUPPORTED,
          "the header has enc: an encrypted token (JWE); only signed tokens (JWS) are accepted");
    }
    JWSAlgorithm alg = checkAlgorithm(headerJson.get("alg"), allowed);
    if (headerJson.containsKey("crit")) {
      throw GateFailure.invalidToken(
          RejectionReason.UNSUPPORTED_CRITICAL_HEADER,
          "the header marks parameters as critical (crit); no critical extension is supported");
    }
    Object typ = headerJson.get("typ");
    if (typ != null
        && !(typ instanceof String s && ACCEPTED_TYPES.contains(s.toLowerCase(Locale.ROOT)))) {
      throw GateFailure.invalidToken(
          RejectionReason.UNSUPPORTED_TYPE,
          "the header typ is not JWT, at+jwt or application/at+jwt");
    }

    byte[] payloadBytes = decodeStrict(token, first + 1, second);
    if (payloadBytes == null) {
      throw malformed("the payload is not canonical base64url");
    }
    JWTClaimsSet claims;
    try {
      claims = JWTClaimsSet.parse(parseObject(payloadBytes, "payload"));
    } catch (ParseException e) {
      throw malformed("the payload is not a valid JWT claims set");
    }

    if (second + 1 == token.length()) {
      throw GateFailure.invalidToken(RejectionReason.BAD_SIGNATURE, "the token has no signature");
    }
    if (decodeStrict(token, second + 1, token.length()) == null) {
      throw malformed("the signature is not canonical base64url");
    }

    JWSHeader header;
    try {
      header = JWSHeader.parse(headerJson, new Base64URL(token.substring(0, first)));
    } catch (ParseException | RuntimeException e) {
      throw malformed("the header is not a valid JWS header");
    }
    if (!alg.equals(header.getAlgorithm())) {
      throw malformed("the header is not a valid JWS header");
    }
    byte[] signingInput = token.substring(0, second).getBytes(StandardCharsets.US_ASCII);
    return new CompactJws(header, claims, signingInput, new Base64URL(token.substring(second + 1)));
  }

  /**
   * The {@code iss} of a compact JWS, read without verifying anything, to route it to its issuer's
   * validator; null when the token is not a three-part JWS with a JSON payload holding a string
   * {@code iss} (its validator then says precisely what is wrong).
   */
  static String peekIssuer(String token) {
    if (token == null || token.length() > MAX_TOKEN_CHARS) {
      return null;
    }
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (second < 0 || token.indexOf('.', second + 1) >= 0) {
      return null;
    }
    byte[] payload = decodeStrict(token, first + 1, second);
    if (payload == null) {
      return null;
    }
    try {
      return parseObject(payload, "payload").get("iss") instanceof String iss ? iss : null;
    } catch (GateFailure e) {
      return null;
    }
  }

  private static JWSAlgorithm checkAlgorithm(Object value, Set<JWSAlgorithm> allowed) {
    if (!(value instanceof String name) || name.isEmpty()) {
      throw malformed("the header has no alg");
    }
    if (name.equalsIgnoreCase("none")) {
      throw GateFailure.invalidToken(
          RejectionReason.UNSUPPORTED_ALGORITHM, "unsigned tokens (alg none) are never accepted");
    }
    if (name.regionMatches(true, 0, "HS", 0, 2)) {
      throw GateFailure.invalidToken(
          RejectionReason.UNSUPPORTED_ALGORITHM,
          "HMAC algorithms are never accepted: tokens must be signed with the issuer's private key");
    }
    for (JWSAlgorithm a : allowed) {
      // Exact, case-sensitive: "rs256" is not RS256 (RFC 7515 algorithm names are case-sensitive).
      if (a.getName().equals(name)) {
        return a;
      }
    }
    throw GateFailure.invalidToken(
        RejectionReason.UNSUPPORTED_ALGORITHM,
        "the token's alg is not allowed for this issuer (allowed: "
            + String.join(", ", allowed.stream().map(JWSAlgorithm::getName).sorted().toList())
            + ")");
  }

  private static Map<String, Object> parseObject(byte[] bytes, String what) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    // Reject bytes that are not UTF-8: decoding replaced them, so the round trip differs.
    if (!java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), bytes)) {
      throw malformed("the " + what + " is not UTF-8");
    }
    try {
      Map<String, Object> json = JSONObjectUtils.parse(text);
      if (json == null) {
        throw malformed("the " + what + " is not a JSON object");
      }
      return json;
    } catch (ParseException | RuntimeException e) {
      throw malformed("the " + what + " is not a JSON object");
    }
  }

  /**
   * Decodes {@code s[from, to)} as unpadded base64url, or returns null unless it is the one
   * canonical encoding of its bytes.
   */
  static byte[] decodeStrict(String s, int from, int to) {
    int len = to - from;
    if (len % 4 == 1) {
      return null;
    }
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      boolean ok =
          (c >= 'A' && c <= 'Z')
              || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9')
              || c == '-'
              || c == '_';
      if (!ok) {
        return null;
      }
    }
    String part = s.substring(from, to);
    byte[] bytes;
    try {
      bytes = Base64.getUrlDecoder().decode(part);
    } catch (IllegalArgumentException e) {
      return null;
    }
    // Non-zero unused bits in the last character decode to the same bytes; refuse them.
    if (!Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).equals(part)) {
      return null;
    }
    return bytes;
  }

  private static GateFailure malformed(String description) {
    return GateFailure.invalidToken(RejectionReason.MALFORMED, description);
  }
}
