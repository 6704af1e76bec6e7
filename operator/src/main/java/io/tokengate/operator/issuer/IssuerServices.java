package io.tokengate.operator.issuer;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.operator.status.ResourceEvents;
import java.time.Clock;
import java.time.Duration;

/** What the issuer reconcilers share. */
public record IssuerServices(
    KubernetesClient client,
    IdentityProviderClient idp,
    IssuerSnapshots snapshots,
    ResourceEvents events,
    Duration maxRetryInterval,
    Clock clock) {}
