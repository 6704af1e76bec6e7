package io.tokengate.operator.injection;

import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import java.util.List;
import java.util.Map;

/** The three answers an admission webhook gives, each echoing the request's uid. */
public final class Admission {
  private static final int MAX_WARNING = 256; // longer warnings may be truncated by the client

  private Admission() {}

  public static AdmissionResponse allow(String uid, List<String> warnings) {
    return base(uid, warnings).withAllowed(true).build();
  }

  public static AdmissionResponse patch(
      String uid, PodPatch patch, List<String> warnings, String policy) {
    AdmissionResponseBuilder response = base(uid, warnings).withAllowed(true);
    if (!patch.isEmpty()) {
      response
          .withPatchType("JSONPatch")
          .withPatch(patch.base64())
          .withAuditAnnotations(Map.of("policy", policy));
    }
    return response.build();
  }

  /**
   * A refusal the API server shows to whoever created the pod, prefixed with the webhook's name.
   */
  public static AdmissionResponse deny(String uid, int code, String message) {
    return base(uid, List.of())
        .withAllowed(false)
        .withStatus(
            new StatusBuilder()
                .withCode(code)
                .withStatus("Failure")
                .withReason(
                    switch (code) {
                      case 400 -> "BadRequest";
                      case 503 -> "ServiceUnavailable";
                      default -> "Forbidden";
                    })
                .withMessage(message)
                .build())
        .build();
  }

  private static AdmissionResponseBuilder base(String uid, List<String> warnings) {
    AdmissionResponseBuilder builder = new AdmissionResponseBuilder().withUid(uid);
    if (!warnings.isEmpty()) {
      builder.withWarnings(
          warnings.stream()
              .map(w -> w.length() > MAX_WARNING ? w.substring(0, MAX_WARNING - 3) + "..." : w)
              .toList());
    }
    return builder;
  }
}
