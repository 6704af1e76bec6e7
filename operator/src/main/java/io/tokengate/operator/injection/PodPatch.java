package io.tokengate.operator.injection;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.zjsonpatch.DiffFlags;
import io.fabric8.zjsonpatch.JsonDiff;
import java.util.Base64;
import java.util.EnumSet;

/**
 * The RFC 6902 JSON Patch that turns the admitted pod into the injected one, computed as the
 * difference of the two (as Istio does) so the patch is exactly the mutation, whatever it is.
 *
 * <p>Both sides are serialized by the same model, so fields the model normalizes cancel out and
 * every path the patch names exists in the API server's own copy of the pod. Only add, remove and
 * replace are emitted: no move or copy, which would make the patch depend on values elsewhere.
 */
public record PodPatch(ArrayNode operations) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static PodPatch between(Pod admitted, Pod injected) {
    JsonNode before = JSON.valueToTree(admitted);
    JsonNode after = JSON.valueToTree(injected);
    JsonNode diff =
        JsonDiff.asJson(
            before,
            after,
            EnumSet.of(
                DiffFlags.OMIT_VALUE_ON_REMOVE,
                DiffFlags.OMIT_MOVE_OPERATION,
                DiffFlags.OMIT_COPY_OPERATION));
    return new PodPatch((ArrayNode) diff);
  }

  public boolean isEmpty() {
    return operations.isEmpty();
  }

  /** The patch as the AdmissionResponse carries it. */
  public String base64() {
    try {
      return Base64.getEncoder().encodeToString(JSON.writeValueAsBytes(operations));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serializes", e);
    }
  }
}
