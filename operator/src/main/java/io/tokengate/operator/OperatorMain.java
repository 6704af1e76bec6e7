package io.tokengate.operator;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import io.tokengate.api.BuildInfo;
import java.util.Arrays;

/**
 * The operator's entry point: {@code --version} prints {@code tokengate-operator <release> (Java
 * <runtime>)} and exits 0 without starting anything; otherwise the Quarkus application runs until
 * it is stopped.
 */
@QuarkusMain
public final class OperatorMain {
  private OperatorMain() {}

  public static void main(String... args) {
    if (Arrays.asList(args).contains("--version")) {
      System.out.println(BuildInfo.current().describe("tokengate-operator"));
      return;
    }
    Quarkus.run(args);
  }
}
