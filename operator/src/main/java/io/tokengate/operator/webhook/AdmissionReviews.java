package io.tokengate.operator.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.tokengate.operator.injection.Admission;
import java.io.IOException;

/**
 * Reads and writes {@code admission.k8s.io/v1} AdmissionReviews. Whatever arrives, decoding gives
 * either a request to decide, an immediate answer (the request has a uid but its object is not a
 * Pod), or a bad-request message (no uid to answer to) — never an exception.
 */
public final class AdmissionReviews {
  public static final String API_VERSION = "admission.k8s.io/v1";
  private static final ObjectMapper JSON =
      new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private AdmissionReviews() {}

  /** The outcome of decoding a request body. */
  public sealed interface Decoded {}

  /** A Pod admission request (its object a typed {@link Pod}, or of another kind, or absent). */
  public record Request(AdmissionRequest request) implements Decoded {}

  /** The request can be answered without a decision. */
  public record Answer(AdmissionResponse response) implements Decoded {}

  /** Not an AdmissionReview this webhook can answer: HTTP 400 with the message. */
  public record Malformed(String message) implements Decoded {}

  public static Decoded decode(byte[] body) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      return new Malformed("the body is not JSON: " + message(e));
    }
    if (root == null || !root.isObject()) {
      return new Malformed(
          "the body is not a JSON object (an admission.k8s.io/v1 AdmissionReview)");
    }
    if (!"AdmissionReview".equals(root.path("kind").asText())
        || !API_VERSION.equals(root.path("apiVersion").asText())) {
      return new Malformed(
          "expected an %s AdmissionReview, got apiVersion '%s' kind '%s'"
              .formatted(
                  API_VERSION, root.path("apiVersion").asText(), root.path("kind").asText()));
    }
    if (!(root.get("request") instanceof ObjectNode request)) {
      return new Malformed("the AdmissionReview has no request");
    }
    String uid = request.path("uid").asText("");
    if (uid.isEmpty()) {
      return new Malformed("the AdmissionReview's request has no uid");
    }
    // The polymorphic fields are read separately, so a bad object still gets an answer.
    JsonNode object = request.remove("object");
    request.remove("oldObject");
    request.remove("options");
    AdmissionRequest admission;
    try {
      admission = JSON.treeToValue(request, AdmissionRequest.class);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      return new Answer(
          Admission.deny(uid, 400, "the admission request is malformed: " + message(e)));
    }
    if (object != null && "Pod".equals(object.path("kind").asText("Pod"))) {
      try {
        admission.setObject(JSON.treeToValue(object, Pod.class));
      } catch (JsonProcessingException | IllegalArgumentException e) {
        return new Answer(
            Admission.deny(uid, 400, "the request's object is not a valid Pod: " + message(e)));
      }
    }
    return new Request(admission);
  }

  /** The response wrapped in an AdmissionReview of the same version, as JSON. */
  public static byte[] encode(AdmissionResponse response) {
    AdmissionReview review = new AdmissionReview();
    review.setApiVersion(API_VERSION);
    review.setKind("AdmissionReview");
    review.setResponse(response);
    try {
      return JSON.writeValueAsBytes(review);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an AdmissionReview always serializes", e);
    }
  }

  private static String message(Exception e) {
    return e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
  }
}
