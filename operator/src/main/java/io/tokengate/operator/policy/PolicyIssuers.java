package io.tokengate.operator.policy;

import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.IssuerRef;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.operator.issuer.IssuerKey;
import io.tokengate.operator.issuer.IssuerSnapshots;
import io.tokengate.operator.status.StatusConditions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Every issuer a policy trusts ({@code spec.issuerRef}, or each of {@code spec.issuerRefs}) and
 * whether the configuration can be rendered with them: all must exist, each introspection client
 * Secret must be in the policy's namespace, and each must have keys from a fetch, except one
 * without a CA Secret, whose keys the sidecars can fetch themselves. A policy whose issuers are not
 * all ready still renders and serves with the keys there are (reason {@code SomeIssuersNotReady});
 * {@code IssuerResolved} names the ones that fail.
 *
 * @param each one resolution per reference, in the spec's order
 */
record PolicyIssuers(List<IssuerResolution> each) {

  static PolicyIssuers of(
      ApiPolicy policy,
      Function<IssuerKey, Optional<IssuerResource>> issuers,
      IssuerSnapshots snapshots,
      ClientSecrets.Check secrets) {
    List<IssuerRef> refs = policy.getSpec().trustedIssuers();
    boolean single = policy.getSpec().issuerRefs == null;
    List<IssuerResolution> out = new ArrayList<>();
    for (int i = 0; i < refs.size(); i++) {
      out.add(
          IssuerResolution.of(
              refs.get(i),
              single ? "spec.issuerRef" : "spec.issuerRefs[" + i + "]",
              policy.getMetadata().getNamespace(),
              issuers,
              snapshots,
              secrets));
    }
    return new PolicyIssuers(List.copyOf(out));
  }

  /** True when the sidecar configuration can be rendered (see the class comment). */
  boolean renderable() {
    boolean anyKeys = false;
    for (IssuerResolution r : each) {
      if (r.issuer().isEmpty() || r.clientSecretMissing()) {
        return false;
      }
      if (r.snapshot().isPresent()) {
        anyKeys = true;
      } else if (r.issuer().get().getSpec().caSecretRef != null) {
        return false;
      }
    }
    return anyKeys;
  }

  /** An issuer's introspection client Secret is missing: retried, as no event announces it. */
  boolean clientSecretMissing() {
    return each.stream().anyMatch(IssuerResolution::clientSecretMissing);
  }

  /** The client Secrets the sidecar mounts, sorted, or null for none. */
  List<String> clientSecrets() {
    return ClientSecrets.names(each.stream().flatMap(r -> r.issuer().stream()).toList());
  }

  /** Every issuer exists, is Ready and has keys. */
  boolean resolved() {
    return each.stream().allMatch(IssuerResolution::resolved);
  }

  /**
   * IssuerFound; SomeIssuersNotReady when a policy of several serves with some; else the first
   * failure's.
   */
  String reason() {
    if (resolved()) {
      return Reasons.ISSUER_FOUND;
    }
    if (each.size() > 1 && renderable()) {
      return Reasons.SOME_ISSUERS_NOT_READY;
    }
    return failing().get(0).reason();
  }

  /** What is right, or every failing reference with what is wrong with it. */
  String message() {
    if (resolved()) {
      return each.size() == 1
          ? each.get(0).message()
          : "all " + each.size() + " issuers are ready with their keys";
    }
    return String.join("; ", failing().stream().map(IssuerResolution::message).toList());
  }

  /** The issuers' identifiers ({@code spec.issuer}) that exist, comma-separated, or null. */
  String identifiers() {
    List<String> ids =
        each.stream().flatMap(r -> r.issuer().stream()).map(i -> i.getSpec().issuer).toList();
    return ids.isEmpty() ? null : String.join(", ", ids);
  }

  /**
   * Two issuers that accept tokens of one {@code iss} (the same {@code spec.issuer}, or a tenant of
   * a multi-tenant issuer's template), so a token could not be routed to one of them: what is
   * wrong, or null.
   */
  static String overlap(PolicyIssuers resolution) {
    List<IssuerResource> seen = new ArrayList<>();
    for (IssuerResolution r : resolution.each()) {
      if (r.issuer().isEmpty()) {
        continue;
      }
      IssuerResource issuer = r.issuer().get();
      for (IssuerResource other : seen) {
        TokenIssuerSpec a = other.getSpec();
        TokenIssuerSpec b = issuer.getSpec();
        boolean overlapping;
        try {
          overlapping = IssuerTemplate.overlap(a, b);
        } catch (IllegalArgumentException invalid) {
          continue; // that issuer reports InvalidSpec itself
        }
        if (overlapping) {
          String names = other.getMetadata().getName() + " and " + issuer.getMetadata().getName();
          return String.valueOf(a.issuer).equals(b.issuer)
              ? "spec.issuerRefs: issuers "
                  + names
                  + " have the same spec.issuer, so a token could not be routed to one of them"
              : "spec.issuerRefs: issuers "
                  + names
                  + " accept tokens of the same iss (a tenant of "
                  + IssuerTemplate.routingKey(a.tenants != null ? a : b)
                  + "), so a token could not be routed to one of them";
        }
      }
      seen.add(issuer);
    }
    return null;
  }

  /**
   * An issuer is Ready but its keys are not in the snapshot store yet (just after a leader change).
   */
  boolean keysPending() {
    return each.stream()
        .anyMatch(
            r ->
                r.issuer().isPresent()
                    && r.snapshot().isEmpty()
                    && StatusConditions.isTrue(
                        r.issuer().get().getStatus() == null
                            ? null
                            : r.issuer().get().getStatus().conditions,
                        Conditions.READY));
  }

  private List<IssuerResolution> failing() {
    return each.stream().filter(r -> !r.resolved()).toList();
  }
}
