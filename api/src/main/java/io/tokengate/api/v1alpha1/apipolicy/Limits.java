package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** Request size limits enforced before any token work. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Limits {
  @Default("16384")
  @Min(256)
  @Max(1048576)
  @JsonPropertyDescription(
      "Largest token accepted, in bytes (default 16 KiB). A larger one is answered 431.")
  public int maxTokenBytes = 16384;

  @Default("65536")
  @Min(1024)
  @Max(1048576)
  @JsonPropertyDescription(
      "Largest total of request headers, in bytes (default 64 KiB). Larger: 431.")
  public int maxHeaderBytes = 65536;
}
