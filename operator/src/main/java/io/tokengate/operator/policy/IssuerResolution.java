package io.tokengate.operator.policy;

import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.apipolicy.IssuerRef;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.operator.issuer.IssuerKey;
import io.tokengate.operator.issuer.IssuerSnapshots;
import io.tokengate.operator.status.StatusConditions;
import java.util.Optional;
import java.util.function.Function;

/**
 * The issuer a policy refers to, and whether it can be used. An issuer that exists but is not ready
 * may still have keys from an earlier fetch: the policy keeps rendering with those (the sidecars go
 * on validating) while its status reports the problem.
 *
 * @param issuer the issuer, if it exists
 * @param snapshot its last good keys, if any
 * @param resolved the issuer exists, is Ready and has keys
 * @param reason IssuerFound, IssuerNotFound, IssuerNotReady or ClientSecretMissing
 * @param message names the issuer and what is wrong with it
 */
record IssuerResolution(
    Optional<IssuerResource> issuer,
    Optional<IssuerSnapshots.Snapshot> snapshot,
    boolean resolved,
    String reason,
    String message) {

  /** The issuer's introspection client Secret is not usable in the policy's namespace. */
  boolean clientSecretMissing() {
    return Reasons.CLIENT_SECRET_MISSING.equals(reason);
  }

  static IssuerResolution of(
      IssuerRef ref,
      String field,
      String namespace,
      Function<IssuerKey, Optional<IssuerResource>> issuers,
      IssuerSnapshots snapshots,
      ClientSecrets.Check secrets) {
    IssuerKey key = IssuerKey.of(ref, namespace);
    Optional<IssuerResource> issuer = issuers.apply(key);
    if (issuer.isEmpty()) {
      String hint =
          ref.kind == IssuerRef.IssuerKind.TokenIssuer
              ? " (a TokenIssuer must be in the policy's namespace; use kind ClusterTokenIssuer"
                  + " for a cluster-wide issuer)"
              : "";
      return new IssuerResolution(
          issuer,
          Optional.empty(),
          false,
          Reasons.ISSUER_NOT_FOUND,
          field + ": " + key + " does not exist" + hint);
    }
    Optional<IssuerSnapshots.Snapshot> snapshot = snapshots.get(key);
    // Before readiness: a configuration naming a Secret the pods cannot mount is never rendered,
    // whatever state the issuer is in.
    Optional<String> secretProblem =
        ClientSecrets.of(issuer.get())
            .flatMap(secret -> secrets.problem(namespace, issuer.get(), secret));
    if (secretProblem.isPresent()) {
      return new IssuerResolution(
          issuer, snapshot, false, Reasons.CLIENT_SECRET_MISSING, secretProblem.get());
    }
    var conditions = issuer.get().getStatus() == null ? null : issuer.get().getStatus().conditions;
    if (!StatusConditions.isTrue(conditions, Conditions.READY) || snapshot.isEmpty()) {
      String why =
          StatusConditions.find(conditions, Conditions.READY)
              .filter(c -> "False".equals(c.getStatus()))
              .map(c -> c.getReason() + ": " + c.getMessage())
              .orElse("its keys are not loaded yet");
      return new IssuerResolution(
          issuer, snapshot, false, Reasons.ISSUER_NOT_READY, key + " is not ready: " + why);
    }
    return new IssuerResolution(
        issuer, snapshot, true, Reasons.ISSUER_FOUND, key + " is ready with its keys");
  }
}
