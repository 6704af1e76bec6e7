package io.tokengate.api.v1alpha1.tokenissuer;

import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;

/**
 * The {@code iss} values a multi-tenant Microsoft Entra issuer accepts. Entra's tenant-independent
 * endpoints ({@code https://login.microsoftonline.com/organizations/v2.0}, {@code .../common/v2.0}
 * and their v1 forms without {@code /v2.0}) publish no single issuer: their discovery document
 * names a template, {@code https://login.microsoftonline.com/{tenantid}/v2.0} (v2) or {@code
 * https://sts.windows.net/{tenantid}/} (v1), and each token carries its own tenant's issuer plus
 * that tenant in {@code tid}.
 *
 * <p>The template is derived from {@code spec.issuer} alone (the tenant segment replaced by {@code
 * {tenantid}}; for Entra's public cloud v1 endpoints, {@code https://sts.windows.net/{tenantid}/}),
 * so the operator and the sidecar agree on it without sharing state, and discovery must confirm it:
 * a discovery document naming another template is an issuer mismatch.
 *
 * <p>Matching never builds a regular expression from configuration: an {@code iss} matches when it
 * is the template's text before the placeholder, a tenant id in its canonical form (36 characters,
 * lower-case hex digits and hyphens at fixed places), and the template's text after it, exactly.
 */
public final class IssuerTemplate {
  /** The placeholder Entra's discovery documents use for the tenant. */
  public static final String TENANT_PLACEHOLDER = "{tenantid}";

  /** {@code spec.tenants: ["*"]}: every tenant (explicitly). */
  public static final String ALL_TENANTS = "*";

  /**
   * A tenant id as Entra writes it in {@code tid} and {@code iss}: a lower-case GUID. Without
   * backslashes, so the same text serves Java and CEL.
   */
  public static final String TENANT_ID_PATTERN =
      "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

  /**
   * A multi-tenant issuer URL: scheme and authority, then {@code /common} or {@code
   * /organizations}, then optionally {@code /v2.0} and a trailing slash. Without backslashes, so
   * the same text serves Java and CEL.
   */
  public static final String MULTI_TENANT_ISSUER_PATTERN =
      "^(https?://[^/?#@]+/)(common|organizations)(/v2[.]0)?(/?)$";

  /** Entra's public cloud, whose v1 tokens name {@code https://sts.windows.net/<tid>/}. */
  private static final Set<String> ENTRA_PUBLIC_V1_HOSTS =
      Set.of("https://login.microsoftonline.com/");

  private static final String ENTRA_PUBLIC_V1_TEMPLATE =
      "https://sts.windows.net/" + TENANT_PLACEHOLDER + "/";

  private static final java.util.regex.Pattern MULTI_TENANT_ISSUER =
      java.util.regex.Pattern.compile(MULTI_TENANT_ISSUER_PATTERN);

  private static final int TENANT_ID_LENGTH = 36;

  private final String template;
  private final String prefix;
  private final String suffix;

  private IssuerTemplate(String template) {
    int at = template.indexOf(TENANT_PLACEHOLDER);
    if (at < 0 || template.indexOf(TENANT_PLACEHOLDER, at + 1) >= 0) {
      throw new IllegalArgumentException(
          "an issuer template holds " + TENANT_PLACEHOLDER + " exactly once: " + template);
    }
    this.template = template;
    this.prefix = template.substring(0, at);
    this.suffix = template.substring(at + TENANT_PLACEHOLDER.length());
  }

  /** The template in {@code text}, which holds {@value #TENANT_PLACEHOLDER} exactly once. */
  public static IssuerTemplate parse(String text) {
    return new IssuerTemplate(text);
  }

  /** True when {@code text} names a template (holds {@value #TENANT_PLACEHOLDER}). */
  public static boolean isTemplate(String text) {
    return text != null && text.contains(TENANT_PLACEHOLDER);
  }

  /**
   * True when {@code issuer} is a multi-tenant issuer URL ({@link #MULTI_TENANT_ISSUER_PATTERN}).
   */
  public static boolean isMultiTenantIssuer(String issuer) {
    return issuer != null && MULTI_TENANT_ISSUER.matcher(issuer).matches();
  }

  /**
   * The template the tokens of multi-tenant issuer {@code issuer} carry, and its discovery names;
   * empty when {@code issuer} is not a multi-tenant issuer URL.
   */
  public static Optional<IssuerTemplate> forIssuer(String issuer) {
    if (issuer == null) {
      return Optional.empty();
    }
    Matcher m = MULTI_TENANT_ISSUER.matcher(issuer);
    if (!m.matches()) {
      return Optional.empty();
    }
    String base = m.group(1);
    boolean v2 = m.group(3) != null;
    if (!v2 && ENTRA_PUBLIC_V1_HOSTS.contains(base)) {
      return Optional.of(new IssuerTemplate(ENTRA_PUBLIC_V1_TEMPLATE));
    }
    return Optional.of(
        new IssuerTemplate(base + TENANT_PLACEHOLDER + (v2 ? m.group(3) : "") + m.group(4)));
  }

  /**
   * The template of {@code spec} when it accepts several tenants ({@code spec.tenants} set), else
   * empty.
   *
   * @throws IllegalArgumentException when {@code spec.tenants} is set on an issuer that is not a
   *     multi-tenant issuer URL
   */
  public static Optional<IssuerTemplate> of(TokenIssuerSpec spec) {
    if (spec == null || spec.tenants == null) {
      return Optional.empty();
    }
    return Optional.of(
        forIssuer(spec.issuer)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "spec.tenants applies only to a multi-tenant issuer such as"
                            + " https://login.microsoftonline.com/organizations/v2.0 (path"
                            + " /organizations or /common, optionally followed by /v2.0); got '"
                            + spec.issuer
                            + "'")));
  }

  /**
   * What routes a token to {@code spec}'s issuer: its template when it accepts several tenants,
   * else {@code spec.issuer}. Two issuers of one policy must have different routing keys.
   */
  public static String routingKey(TokenIssuerSpec spec) {
    return of(spec).map(IssuerTemplate::template).orElse(spec.issuer);
  }

  /**
   * True when some {@code iss} would be accepted by both {@code a} and {@code b}, so a token could
   * not be routed to one of them.
   */
  public static boolean overlap(TokenIssuerSpec a, TokenIssuerSpec b) {
    Optional<IssuerTemplate> ta = of(a);
    Optional<IssuerTemplate> tb = of(b);
    if (ta.isPresent() && tb.isPresent()) {
      return ta.get().template.equals(tb.get().template);
    }
    if (ta.isPresent()) {
      return ta.get().tenantOf(b.issuer) != null;
    }
    if (tb.isPresent()) {
      return tb.get().tenantOf(a.issuer) != null;
    }
    return a.issuer != null && a.issuer.equals(b.issuer);
  }

  /** The template text, e.g. {@code https://login.microsoftonline.com/{tenantid}/v2.0}. */
  public String template() {
    return template;
  }

  /** The issuer of tenant {@code tenantId}. */
  public String issuerOf(String tenantId) {
    return prefix + tenantId + suffix;
  }

  /**
   * The tenant id in {@code iss} when {@code iss} is this template with a canonical tenant id in
   * place of the placeholder; null otherwise (nothing else is ever accepted there: no other
   * characters, no upper case, no path separators).
   */
  public String tenantOf(String iss) {
    if (iss == null
        || iss.length() != prefix.length() + TENANT_ID_LENGTH + suffix.length()
        || !iss.startsWith(prefix)
        || !iss.endsWith(suffix)) {
      return null;
    }
    String tenant = iss.substring(prefix.length(), prefix.length() + TENANT_ID_LENGTH);
    return isTenantId(tenant) ? tenant : null;
  }

  /** True when {@code s} is a tenant id in canonical form ({@link #TENANT_ID_PATTERN}). */
  public static boolean isTenantId(String s) {
    if (s == null || s.length() != TENANT_ID_LENGTH) {
      return false;
    }
    for (int i = 0; i < TENANT_ID_LENGTH; i++) {
      char c = s.charAt(i);
      boolean hyphen = i == 8 || i == 13 || i == 18 || i == 23;
      if (hyphen ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof IssuerTemplate t && t.template.equals(template);
  }

  @Override
  public int hashCode() {
    return template.hashCode();
  }

  @Override
  public String toString() {
    return template;
  }
}
