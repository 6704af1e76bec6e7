package io.tokengate.sidecar.testing;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.testing.TestIssuer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes sidecar configuration files the way a user or the operator would. */
public final class PolicyFiles {
  private PolicyFiles() {}

  /** A TokenIssuer document named {@code name} in namespace {@code shop}. */
  public static String issuerYaml(String name, TokenIssuerSpec spec) {
    TokenIssuer issuer = new TokenIssuer();
    issuer.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("shop").build());
    issuer.setSpec(spec);
    return ResourceReader.write(issuer);
  }

  /**
   * An ApiPolicy {@code shop/orders-api} referencing TokenIssuer {@code idp}, forwarding to {@code
   * upstreamPort}, with {@code specBody} (indented YAML lines under spec, may be empty).
   */
  public static String policyYaml(int upstreamPort, String specBody) {
    return policyYaml(upstreamPort, specBody, "2s");
  }

  /** As {@link #policyYaml(int, String)} with {@code spec.upstream.timeout}. */
  public static String policyYaml(int upstreamPort, String specBody, String upstreamTimeout) {
    StringBuilder sb = new StringBuilder();
    sb.append("apiVersion: tokengate.io/v1alpha1\n")
        .append("kind: ApiPolicy\n")
        .append("metadata:\n  name: orders-api\n  namespace: shop\n")
        .append("spec:\n")
        .append("  selector: {matchLabels: {app: orders}}\n")
        .append("  issuerRef: {kind: TokenIssuer, name: idp}\n")
        .append("  audiences: [\"")
        .append(TestIssuer.DEFAULT_AUDIENCE)
        .append("\"]\n")
        .append("  upstream: {port: ")
        .append(upstreamPort)
        .append(", timeout: ")
        .append(upstreamTimeout)
        .append("}\n");
    for (String line : specBody.split("\n")) {
      if (!line.isBlank()) {
        sb.append("  ").append(line).append('\n');
      }
    }
    return sb.toString();
  }

  public static Path write(Path file, String text) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, text);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
