package io.tokengate.sidecar.validation;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A DPoP proof JWT (RFC 9449 section 4.2) taken apart strictly and its signature verified with the
 * public key it carries: canonical base64url in three parts, {@code typ: dpop+jwt}, an asymmetric
 * {@code alg} that fits the key (never {@code none} nor HMAC), no {@code crit}, a public {@code
 * jwk} (a private one is refused), and the claims {@code jti}, {@code htm}, {@code htu}, {@code
 * iat}. What the claims must match is {@link DpopBinding}'s business.
 *
 * @param thumbprint the RFC 7638 SHA-256 thumbprint of the proof's key (base64url)
 * @param jti the proof's unique id
 * @param htm the HTTP method it was made for
 * @param htu the URL it was made for
 * @param issuedAtSeconds {@code iat}
 * @param ath the access token hash, or null
 */
record DpopProof(
    String thumbprint, String jti, String htm, String htu, long issuedAtSeconds, String ath) {

  /** Longer proofs are refused before any parsing. */
  static final int MAX_PROOF_CHARS = 8 * 1024;

  /** Longer {@code jti} values are refused: 256 characters hold any real random id. */
  static final int MAX_JTI_CHARS = 256;

  /** Algorithms a proof may be signed with: asymmetric only. */
  static final List<JWSAlgorithm> ALGORITHMS =
      List.of(
          JWSAlgorithm.ES256,
          JWSAlgorithm.ES384,
          JWSAlgorithm.ES512,
          JWSAlgorithm.PS256,
          JWSAlgorithm.PS384,
          JWSAlgorithm.PS512,
          JWSAlgorithm.RS256,
          JWSAlgorithm.RS384,
          JWSAlgorithm.RS512,
          JWSAlgorithm.EdDSA);

  /**
   * Parses {@code proof} and verifies its signature with its own key.
   *
   * @throws GateFailure 401 {@code invalid_dpop_proof}
   */
  static DpopProof verify(String proof) {
    if (proof == null || proof.isEmpty()) {
      throw invalid("dpop_proof_malformed", "the DPoP proof is empty");
    }
    if (proof.length() > MAX_PROOF_CHARS) {
      throw invalid(
          "dpop_proof_malformed",
          "the DPoP proof is longer than " + MAX_PROOF_CHARS + " characters");
    }
    int first = proof.indexOf('.');
    int second = first < 0 ? -1 : proof.indexOf('.', first + 1);
    if (first < 0 || second < 0 || proof.indexOf('.', second + 1) >= 0) {
      throw invalid("dpop_proof_malformed", "the DPoP proof is not a compact JWS");
    }
    byte[] headerBytes = CompactJws.decodeStrict(proof, 0, first);
    byte[] payloadBytes = CompactJws.decodeStrict(proof, first + 1, second);
    byte[] signatureBytes = CompactJws.decodeStrict(proof, second + 1, proof.length());
    if (headerBytes == null || payloadBytes == null || signatureBytes == null) {
      throw invalid("dpop_proof_malformed", "the DPoP proof is not canonical base64url");
    }
    if (signatureBytes.length == 0) {
      throw invalid("dpop_proof_unsigned", "the DPoP proof has no signature");
    }
    Map<String, Object> header = object(headerBytes, "header");
    Object typ = header.get("typ");
    if (!(typ instanceof String t) || !t.toLowerCase(Locale.ROOT).equals("dpop+jwt")) {
      throw invalid("dpop_proof_type", "the DPoP proof's typ is not dpop+jwt");
    }
    JWSAlgorithm alg = algorithm(header.get("alg"));
    if (header.containsKey("crit")) {
      throw invalid("dpop_proof_malformed", "the DPoP proof marks parameters as critical (crit)");
    }
    IssuerKey key = key(header.get("jwk"), alg);
    JWSHeader jwsHeader;
    try {
      jwsHeader = JWSHeader.parse(header, new Base64URL(proof.substring(0, first)));
    } catch (ParseException | RuntimeException e) {
      throw invalid("dpop_proof_malformed", "the DPoP proof's header is not a valid JWS header");
    }
    boolean verified;
    try {
      verified =
          key.verifier()
              .verify(
                  jwsHeader,
                  proof.substring(0, second).getBytes(StandardCharsets.US_ASCII),
                  new Base64URL(proof.substring(second + 1)));
    } catch (JOSEException | RuntimeException e) {
      verified = false;
    }
    if (!verified) {
      throw invalid("dpop_proof_bad_signature", "the DPoP proof's signature is invalid");
    }
    Map<String, Object> claims = object(payloadBytes, "payload");
    String jti = string(claims, "jti");
    if (jti.length() > MAX_JTI_CHARS) {
      throw invalid("dpop_proof_malformed", "the DPoP proof's jti is too long");
    }
    if (!(claims.get("iat") instanceof Number iat)
        || iat.doubleValue() != Math.floor(iat.doubleValue())) {
      throw invalid("dpop_proof_malformed", "the DPoP proof has no iat in whole seconds");
    }
    Object ath = claims.get("ath");
    if (ath != null && !(ath instanceof String)) {
      throw invalid("dpop_proof_malformed", "the DPoP proof's ath is not a string");
    }
    return new DpopProof(
        key.thumbprint(),
        jti,
        string(claims, "htm"),
        string(claims, "htu"),
        iat.longValue(),
        (String) ath);
  }

  private static JWSAlgorithm algorithm(Object value) {
    if (!(value instanceof String name) || name.isEmpty()) {
      throw invalid("dpop_proof_malformed", "the DPoP proof has no alg");
    }
    for (JWSAlgorithm a : ALGORITHMS) {
      if (a.getName().equals(name)) {
        return a;
      }
    }
    throw invalid(
        "dpop_proof_algorithm",
        "the DPoP proof's alg must be an asymmetric signature algorithm (never none or HMAC)");
  }

  private static IssuerKey key(Object jwk, JWSAlgorithm alg) {
    if (!(jwk instanceof Map<?, ?> map)) {
      throw invalid("dpop_proof_malformed", "the DPoP proof carries no jwk header");
    }
    JWK parsed;
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> json = (Map<String, Object>) map;
      parsed = JWK.parse(json);
    } catch (ParseException | RuntimeException e) {
      throw invalid("dpop_proof_malformed", "the DPoP proof's jwk is not a valid JWK");
    }
    if (parsed.isPrivate()) {
      throw invalid("dpop_proof_private_key", "the DPoP proof's jwk holds a private key");
    }
    IssuerKey key;
    try {
      key = IssuerKey.from(parsed);
    } catch (IssuerKey.UnusableKeyException e) {
      throw invalid("dpop_proof_key", "the DPoP proof's jwk cannot be used: " + e.getMessage());
    }
    if (!key.verifies(alg)) {
      throw invalid("dpop_proof_algorithm", "the DPoP proof's alg does not fit its jwk");
    }
    return key;
  }

  private static Map<String, Object> object(byte[] bytes, String what) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    if (!java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), bytes)) {
      throw invalid("dpop_proof_malformed", "the DPoP proof's " + what + " is not UTF-8");
    }
    try {
      Map<String, Object> json = JSONObjectUtils.parse(text);
      if (json == null) {
        throw new ParseException("null", 0);
      }
      return json;
    } catch (ParseException | RuntimeException e) {
      throw invalid("dpop_proof_malformed", "the DPoP proof's " + what + " is not a JSON object");
    }
  }

  private static String string(Map<String, Object> claims, String name) {
    if (!(claims.get(name) instanceof String s) || s.isEmpty()) {
      throw invalid("dpop_proof_malformed", "the DPoP proof has no " + name);
    }
    return s;
  }

  private static GateFailure invalid(String reason, String description) {
    return GateFailure.invalidDpopProof(reason, description);
  }
}
