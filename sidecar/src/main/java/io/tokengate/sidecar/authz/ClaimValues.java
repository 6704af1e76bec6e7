package io.tokengate.sidecar.authz;

import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import io.tokengate.sidecar.log.Json;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;

/**
 * Reads claims the way IdPs actually shape them: a name may be dotted to reach into nested objects
 * ({@code realm_access.roles}), but a top-level claim whose name contains dots (Auth0's namespaced
 * {@code https://example.com/roles}) wins; values may be strings, numbers, booleans or arrays.
 */
public final class ClaimValues {
  private ClaimValues() {}

  /** The claim's value, or null when absent. */
  public static Object lookup(JWTClaimsSet claims, String name) {
    Object direct = claims.getClaim(name);
    if (direct != null || name.indexOf('.') < 0) {
      return direct;
    }
    Object cur = claims.getClaims();
    for (String part : name.split("\\.", -1)) {
      if (!(cur instanceof Map<?, ?> map)) {
        return null;
      }
      cur = map.get(part);
    }
    return cur;
  }

  /**
   * Whether a claim holds {@code wanted}: as an array element, as a word of a space-delimited
   * string when {@code splitStrings} (scopes and roles), or as the whole string, number or boolean.
   * Allocates nothing: it runs for every required scope of every request.
   */
  public static boolean holds(Object value, String wanted, boolean splitStrings) {
    if (value == null) {
      return false;
    }
    if (value instanceof String s) {
      return splitStrings ? hasWord(s, wanted) : s.equals(wanted);
    }
    if (value instanceof List<?> list) {
      for (Object o : list) {
        if (o instanceof String e ? e.equals(wanted) : isScalar(o) && scalar(o).equals(wanted)) {
          return true;
        }
      }
      return false;
    }
    return isScalar(value) && scalar(value).equals(wanted);
  }

  private static boolean isScalar(Object o) {
    return o instanceof Number || o instanceof Boolean;
  }

  private static boolean hasWord(String s, String word) {
    int n = word.length();
    if (n == 0) {
      return false;
    }
    int from = 0;
    while (true) {
      int i = s.indexOf(word, from);
      if (i < 0) {
        return false;
      }
      boolean startOk = i == 0 || s.charAt(i - 1) == ' ';
      boolean endOk = i + n == s.length() || s.charAt(i + n) == ' ';
      if (startOk && endOk) {
        return true;
      }
      from = i + 1;
    }
  }

  /**
   * The claim as one header value: arrays joined with {@code ,}, objects as compact JSON, scalars
   * as text. Null when the claim is absent.
   */
  public static String headerValue(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof List<?> list) {
      StringBuilder sb = new StringBuilder();
      for (Object o : list) {
        if (sb.length() > 0) {
          sb.append(',');
        }
        sb.append(o instanceof Map<?, ?> || o instanceof List<?> ? json(o) : scalar(o));
      }
      return sb.toString();
    }
    if (value instanceof Map<?, ?>) {
      return json(value);
    }
    return scalar(value);
  }

  @SuppressWarnings("unchecked")
  private static String json(Object o) {
    if (o instanceof Map<?, ?> m) {
      return JSONObjectUtils.toJSONString((Map<String, ?>) m);
    }
    StringBuilder sb = new StringBuilder("[");
    for (Object e : (List<?>) o) {
      if (sb.length() > 1) {
        sb.append(',');
      }
      if (e instanceof String s) {
        Json.quote(sb, s);
      } else if (e instanceof Map<?, ?> || e instanceof List<?>) {
        sb.append(json(e));
      } else {
        sb.append(e);
      }
    }
    return sb.append(']').toString();
  }

  /** Numbers in their shortest exact form (42, not 42.0), so {@code "42"} matches claim 42. */
  static String scalar(Object o) {
    if (o instanceof Double || o instanceof Float) {
      double d = ((Number) o).doubleValue();
      if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) {
        return Long.toString((long) d);
      }
      return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
    return String.valueOf(o);
  }
}
