package io.tokengate.operator.policy;

import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.Interception;
import io.tokengate.operator.status.StatusConditions;
import java.util.List;

/**
 * The conditions about what leads to the application port around the sidecar, per {@code
 * spec.interception}: {@code BypassRisk} (what was found) and {@code Protected} (whether the
 * interception is in force, and with which reason).
 */
final class InterceptionConditions {
  private InterceptionConditions() {}

  static void setBypassRisk(
      StatusConditions conditions,
      ApiPolicy policy,
      BypassRisk.Findings services,
      ApiPolicyReconciler.Interception interception) {
    int port = policy.getSpec().upstream.port;
    var mode = interception.mode();
    if (mode == Interception.Redirect || mode == Interception.Loopback) {
      // Inside the pod nothing but the sidecar accepts a connection for the application port, so
      // neither a Service by number nor another NetworkPolicy leads around it.
      List<String> byPort = new java.util.ArrayList<>(services.byNumber());
      byPort.addAll(services.byRenamedName());
      conditions.set(
          Conditions.BYPASS_RISK,
          false,
          Reasons.NO_BYPASS,
          "under interception "
              + mode
              + " no connection to port "
              + port
              + " reaches the application but through the sidecar"
              + (byPort.isEmpty()
                  ? ""
                  : "; Services targeting it by number or by its new name ("
                      + String.join(", ", byPort)
                      + (mode == Interception.Redirect
                          ? ") are redirected to the sidecar"
                          : ") reach nothing, as the application listens on loopback: target the"
                              + " port's original name")));
      return;
    }
    List<String> found = new java.util.ArrayList<>();
    String reason = null;
    if (!interception.admittingNetworkPolicies().isEmpty()) {
      reason = Reasons.NETWORK_POLICY_ADMITS_APP_PORT;
      found.add(
          "NetworkPolicies admit ingress to port "
              + port
              + " of these pods, around the sidecar: "
              + String.join(", ", interception.admittingNetworkPolicies())
              + ". Remove the application port from them (NetworkPolicies add up)");
    }
    if (!services.byRenamedName().isEmpty()) {
      reason = reason == null ? Reasons.SERVICE_TARGETS_RENAMED_PORT : reason;
      found.add(
          "Services target the application port's new name, which leads around the sidecar: "
              + String.join(", ", services.byRenamedName())
              + ". Target the port's original name instead");
    }
    if (!services.byNumber().isEmpty()) {
      reason = reason == null ? Reasons.SERVICE_TARGETS_PORT_NUMBER : reason;
      found.add(
          "Services reach the application port by number, bypassing token validation: "
              + String.join(", ", services.byNumber())
              + ". Target the port by name instead");
    }
    if (reason == null) {
      conditions.set(
          Conditions.BYPASS_RISK,
          false,
          Reasons.NO_BYPASS,
          "no Service targets port "
              + port
              + " by number or by its new name, and no other NetworkPolicy admits it");
    } else {
      conditions.set(Conditions.BYPASS_RISK, true, reason, String.join("; ", found) + ".");
    }
  }

  /**
   * Protected: True (reason: the interception) when nothing reaches the application port but
   * through the sidecar; else False with why.
   */
  static void setProtected(
      StatusConditions conditions,
      ApiPolicy policy,
      BypassRisk.Findings services,
      PodCensus census,
      ApiPolicyReconciler.Interception interception) {
    int port = policy.getSpec().upstream.port;
    switch (interception.mode()) {
      case NetworkPolicy -> {
        if (!interception.admittingNetworkPolicies().isEmpty()) {
          conditions.set(
              Conditions.PROTECTED,
              false,
              Reasons.BYPASS_RISK,
              "other NetworkPolicies admit port "
                  + port
                  + ": "
                  + String.join(", ", interception.admittingNetworkPolicies()));
        } else if (!interception.networkPolicyApplied()) {
          conditions.set(
              Conditions.PROTECTED,
              false,
              Reasons.NETWORK_POLICY_PENDING,
              "NetworkPolicy "
                  + InterceptionNetworkPolicy.name(policy.getMetadata().getName())
                  + " is not in place yet");
        } else {
          conditions.set(
              Conditions.PROTECTED,
              true,
              Reasons.NETWORK_POLICY,
              "NetworkPolicy "
                  + InterceptionNetworkPolicy.name(policy.getMetadata().getName())
                  + " admits ingress to the sidecar's ports and never to port "
                  + port
                  + "; this holds where the cluster's network plugin enforces NetworkPolicy");
        }
      }
      case PortName ->
          conditions.set(
              Conditions.PROTECTED,
              false,
              services.none() ? Reasons.PORT_NAME_ONLY : Reasons.BYPASS_RISK,
              "interception PortName only moves the port's name to the sidecar: any client"
                  + " connecting to the pod's IP and port "
                  + port
                  + " reaches the application unchecked"
                  + (services.none() ? "" : ", and Services do so (see BypassRisk)"));
      case Redirect, Loopback -> {
        // The interception lives inside each injected pod: a pod without the sidecar has none.
        if (interception.redirectRefused().isPresent()) {
          conditions.set(
              Conditions.PROTECTED,
              false,
              Reasons.POD_SECURITY_REFUSES_REDIRECT,
              interception.redirectRefused().get());
        } else if (census.uninjected() > 0) {
          conditions.set(
              Conditions.PROTECTED,
              false,
              Reasons.PODS_NEED_RESTART,
              census.uninjected()
                  + " matched pod(s) run without the sidecar, so nothing closes their port "
                  + port
                  + ": restart them");
        } else if (census.excludedCount() > 0) {
          conditions.set(
              Conditions.PROTECTED,
              false,
              Reasons.PODS_EXCLUDED,
              "nothing closes port "
                  + port
                  + " of pods without the sidecar; "
                  + PolicyStatusComposer.excluded(policy, census));
        } else if (interception.mode() == Interception.Redirect) {
          conditions.set(
              Conditions.PROTECTED,
              true,
              Reasons.REDIRECT,
              "in every injected pod, init container tokengate-redirect redirects inbound TCP for"
                  + " port "
                  + port
                  + " to the sidecar; the kubelet's probes go through the sidecar's admin port");
        } else {
          conditions.set(
              Conditions.PROTECTED,
              true,
              Reasons.LOOPBACK,
              "the application listens on 127.0.0.1:"
                  + port
                  + " only, so the sidecar is the pods' only way in; this holds as long as the"
                  + " application binds loopback, which the operator cannot see");
        }
      }
    }
  }
}
