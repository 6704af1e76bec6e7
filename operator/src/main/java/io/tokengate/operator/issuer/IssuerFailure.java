package io.tokengate.operator.issuer;

/**
 * Why an issuer cannot be used right now. {@link #reason()} is a {@code Conditions.Reasons}
 * constant; the message says what to fix and never contains key material.
 */
public class IssuerFailure extends RuntimeException {
  private final String reason;

  public IssuerFailure(String reason, String message) {
    super(message);
    this.reason = reason;
  }

  public IssuerFailure(String reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public String reason() {
    return reason;
  }
}
