package io.tokengate.api.v1alpha1.apipolicy;

import java.util.List;
import java.util.Set;

/**
 * The methods a rule may name without declaring them: the standard ones of RFC 9110 and RFC 5789.
 * The CRD's CEL rule on {@link ApiPolicySpec} lists the same; {@code HttpMethodsTest} keeps the two
 * in step.
 */
public final class HttpMethods {
  public static final Set<String> STANDARD =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  private HttpMethods() {}

  /** Whether a rule may name {@code method}, given the policy's {@code spec.extensionMethods}. */
  public static boolean admitted(String method, List<String> extensionMethods) {
    return STANDARD.contains(method)
        || (extensionMethods != null && extensionMethods.contains(method));
  }
}
