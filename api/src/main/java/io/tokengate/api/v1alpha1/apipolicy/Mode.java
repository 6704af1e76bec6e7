package io.tokengate.api.v1alpha1.apipolicy;

/** Whether a policy's decisions are enforced or only recorded. */
public enum Mode {
  Enforce,
  Audit
}
