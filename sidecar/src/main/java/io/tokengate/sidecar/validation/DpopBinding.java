package io.tokengate.sidecar.validation;

import com.nimbusds.jose.JWSAlgorithm;
import io.tokengate.api.v1alpha1.apipolicy.Dpop;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Decides whether a validated token was presented the way its binding demands (RFC 9449): a token
 * bound to a key ({@code cnf.jkt}) only with the {@code DPoP} scheme and exactly one valid proof
 * signed by that key, made for this method and URL, fresh, for this token ({@code ath}) and never
 * used before; never as a bearer token, whatever the policy says. With {@link Dpop#Required} an
 * unbound token is refused too.
 *
 * <p>Thread-safe; the replay cache is shared by every policy the process serves, so a reload does
 * not forget the proofs already seen.
 */
public final class DpopBinding {
  /** How old a proof may be. */
  public static final long MAX_AGE_SECONDS = 60;

  /** How far in the future a proof's {@code iat} may be (the client's clock running ahead). */
  public static final long MAX_FUTURE_SECONDS = 10;

  /** The algorithms a proof may be signed with. */
  public static final List<String> ALGORITHM_NAMES =
      DpopProof.ALGORITHMS.stream().map(JWSAlgorithm::getName).toList();

  /** The same, space-separated: the {@code algs} of a DPoP challenge. */
  public static final String ALGORITHMS = String.join(" ", ALGORITHM_NAMES);

  private final Dpop mode;
  private final DpopReplayCache replay;
  private final Clock clock;

  public DpopBinding(Dpop mode, DpopReplayCache replay, Clock clock) {
    this.mode = mode == null ? Dpop.Allowed : mode;
    this.replay = replay;
    this.clock = clock;
  }

  /** True when only DPoP-bound tokens are accepted. */
  public boolean required() {
    return mode == Dpop.Required;
  }

  /**
   * Checks how {@code token} was presented.
   *
   * @param rawToken the token as presented (for {@code ath})
   * @param dpopScheme the token came in {@code Authorization: DPoP}
   * @param proofs the request's {@code DPoP} header values
   * @param method the request method
   * @param url the URL the request was sent to, without query or fragment
   * @throws GateFailure 401 {@code invalid_token} or {@code invalid_dpop_proof} (DPoP challenge),
   *     503 when the replay cache is full
   */
  public void check(
      VerifiedToken token,
      String rawToken,
      boolean dpopScheme,
      List<String> proofs,
      String method,
      String url) {
    String jkt = boundKey(token);
    if (jkt == null) {
      if (dpopScheme) {
        throw GateFailure.invalidDpopToken(
            "dpop_token_unbound", "the DPoP scheme needs a DPoP-bound token (cnf.jkt)");
      }
      if (required()) {
        throw GateFailure.invalidDpopToken(
            "dpop_required", "this API accepts only DPoP-bound tokens");
      }
      return;
    }
    if (!dpopScheme) {
      throw GateFailure.invalidDpopToken(
          "dpop_bound_token_as_bearer",
          "the token is bound to a key: present it with the DPoP scheme and a proof");
    }
    if (proofs.isEmpty()) {
      throw GateFailure.invalidDpopProof("dpop_proof_missing", "a DPoP proof is required");
    }
    if (proofs.size() > 1) {
      throw GateFailure.invalidDpopProof(
          "dpop_proof_multiple", "the DPoP header was sent more than once");
    }
    DpopProof proof = DpopProof.verify(proofs.get(0));
    if (!proof.thumbprint().equals(jkt)) {
      throw GateFailure.invalidDpopProof(
          "dpop_proof_wrong_key", "the DPoP proof is not signed by the key the token is bound to");
    }
    if (!proof.htm().equals(method)) {
      throw GateFailure.invalidDpopProof(
          "dpop_proof_wrong_method", "the DPoP proof was made for another method");
    }
    String htu = TargetUri.normalize(proof.htu());
    if (htu == null || !htu.equals(TargetUri.normalize(url))) {
      throw GateFailure.invalidDpopProof(
          "dpop_proof_wrong_uri", "the DPoP proof was made for another URL");
    }
    long now = clock.millis();
    long iatMillis = proof.issuedAtSeconds() * 1000;
    if (iatMillis < now - MAX_AGE_SECONDS * 1000 || iatMillis > now + MAX_FUTURE_SECONDS * 1000) {
      throw GateFailure.invalidDpopProof(
          "dpop_proof_stale",
          "the DPoP proof's iat is more than "
              + MAX_AGE_SECONDS
              + " s old or "
              + MAX_FUTURE_SECONDS
              + " s ahead");
    }
    if (proof.ath() == null || !proof.ath().equals(accessTokenHash(rawToken))) {
      throw GateFailure.invalidDpopProof(
          "dpop_proof_wrong_token", "the DPoP proof's ath is not the hash of this token");
    }
    switch (replay.record(jkt, proof.jti(), iatMillis + MAX_AGE_SECONDS * 1000 + 1, now)) {
      case REPLAYED ->
          throw GateFailure.invalidDpopProof(
              "dpop_proof_replayed", "the DPoP proof was used before");
      case FULL ->
          throw GateFailure.of(
              503,
              "dpop_replay_cache_full",
              "too many DPoP proofs to remember at once; retry with a new proof");
      case FRESH -> {}
    }
  }

  /** {@code cnf.jkt} of the token, or null when it is not bound (a non-string jkt is refused). */
  static String boundKey(VerifiedToken token) {
    Object cnf = token.claims().getClaim("cnf");
    if (cnf == null) {
      return null;
    }
    if (!(cnf instanceof Map<?, ?> map)) {
      throw GateFailure.invalidToken("malformed", "the token's cnf claim is not an object");
    }
    Object jkt = map.get("jkt");
    if (jkt == null) {
      if (!map.isEmpty()) {
        // Bound by another method (x5t#S256: mTLS, RFC 8705) this gate cannot check.
        throw GateFailure.invalidToken(
            "unsupported_binding",
            "the token is bound by a confirmation method not supported here");
      }
      return null;
    }
    if (!(jkt instanceof String s) || s.isEmpty()) {
      throw GateFailure.invalidToken("malformed", "the token's cnf.jkt is not a string");
    }
    return s;
  }

  /** base64url(SHA-256(token)), the {@code ath} of a proof for {@code token}. */
  static String accessTokenHash(String token) {
    byte[] hash = Sha256.digest().digest(token.getBytes(StandardCharsets.US_ASCII));
    return Base64.getUrlEncoder().withoutPadding().encodeToString(hash);
  }
}
