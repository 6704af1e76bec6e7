package io.tokengate.operator.testing;

/** The one flag that regenerates every golden file of the operator module. */
public final class Golden {
  public static final String UPDATE_FLAG = "tokengate.golden.update";

  private Golden() {}

  public static boolean updating() {
    return Boolean.getBoolean(UPDATE_FLAG);
  }
}
