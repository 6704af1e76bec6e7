package io.tokengate.operator.status;

import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import java.util.Objects;

/** Decides whether a status changed, by comparing JSON trees (status classes have no equals). */
public final class StatusComparison {
  private StatusComparison() {}

  public static boolean same(Object previous, Object next) {
    return Objects.equals(
        ResourceReader.yaml().valueToTree(previous), ResourceReader.yaml().valueToTree(next));
  }
}
