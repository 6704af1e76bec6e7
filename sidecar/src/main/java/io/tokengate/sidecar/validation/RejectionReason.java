package io.tokengate.sidecar.validation;

/**
 * The stable reason labels a {@link TokenValidator} puts on its {@link
 * io.tokengate.sidecar.validation.GateFailure}s. They are metric label values and log fields:
 * renaming one is a breaking change for dashboards and alerts.
 *
 * <p>Every reason is a 401 {@code invalid_token}, except {@link #NO_KEYS} and {@link
 * #INTROSPECTION_FAILED}: the issuer's keys are not loaded (IdP unreachable since start and no
 * snapshot), which is not the client's fault, so it is a 503 without an RFC 6750 error code and the
 * client may retry.
 */
public final class RejectionReason {
  /** Not a compact JWS: wrong part count, bad base64url, header or payload not a JSON object. */
  public static final String MALFORMED = "malformed";

  /** {@code alg} is {@code none} (any casing), HMAC, unknown, or not in the issuer's allow-list. */
  public static final String UNSUPPORTED_ALGORITHM = "unsupported_algorithm";

  /** Five parts, or an {@code enc} header: an encrypted token (JWE) instead of a signed one. */
  public static final String JWE_NOT_SUPPORTED = "jwe_not_supported";

  /** The {@code kid} names no key of the issuer, even after a refetch of its JWKS. */
  public static final String UNKNOWN_KID = "unknown_kid";

  /** The signature does not verify, or the key named by {@code kid} cannot verify {@code alg}. */
  public static final String BAD_SIGNATURE = "bad_signature";

  /**
   * {@code iss} is missing or differs from the issuer's identifier (for a multi-tenant issuer: is
   * not its template with a tenant id in place of {@code {tenantid}}).
   */
  public static final String WRONG_ISSUER = "wrong_issuer";

  /**
   * Multi-tenant issuer ({@code spec.tenants}): the {@code tid} claim is missing or differs from
   * the tenant in {@code iss}.
   */
  public static final String TENANT_MISMATCH = "tenant_mismatch";

  /** Multi-tenant issuer: the token's tenant is not among {@code spec.tenants}. */
  public static final String TENANT_NOT_ALLOWED = "tenant_not_allowed";

  /** {@code aud} is missing or names none of the accepted audiences. */
  public static final String WRONG_AUDIENCE = "wrong_audience";

  /** {@code exp} is past, beyond the clock skew. */
  public static final String EXPIRED = "expired";

  /** {@code nbf} is in the future, beyond the clock skew. */
  public static final String NOT_YET_VALID = "not_yet_valid";

  /** {@code iat} is in the future, beyond the clock skew. */
  public static final String ISSUED_IN_FUTURE = "issued_in_future";

  /** There is no {@code exp}: a token that never expires is refused. */
  public static final String MISSING_EXP = "missing_exp";

  /** The header has {@code crit}: no critical extension is understood, so none is accepted. */
  public static final String UNSUPPORTED_CRITICAL_HEADER = "unsupported_critical_header";

  /**
   * The header {@code typ} is not absent, {@code JWT}, {@code at+jwt} or {@code
   * application/at+jwt}.
   */
  public static final String UNSUPPORTED_TYPE = "unsupported_type";

  /** The issuer's introspection endpoint answered {@code active: false} (RFC 7662). */
  public static final String INACTIVE = "inactive";

  /**
   * The introspection answer's {@code token_type} names something other than an access token (a
   * refresh or ID token).
   */
  public static final String NOT_AN_ACCESS_TOKEN = "not_an_access_token";

  /**
   * The introspection endpoint could not be asked or gave no usable answer (unreachable, timeout,
   * an HTTP error such as a refused client secret, not JSON, too busy): 503 like {@link #NO_KEYS},
   * never an allowed request.
   */
  public static final String INTROSPECTION_FAILED = "introspection_failed";

  /** The issuer's keys are not loaded: 503, see the class comment. */
  public static final String NO_KEYS = "no_keys";

  private RejectionReason() {}
}
