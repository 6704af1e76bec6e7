package io.tokengate.operator.webhook;

import io.tokengate.operator.config.OperatorSettings;
import io.tokengate.operator.injection.SidecarSettings;
import io.tokengate.operator.webhook.tls.WebhookTls;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The webhook's settings as plain data (from {@link OperatorSettings} in the application, built
 * directly by tests and the benchmark).
 *
 * @param host the address the HTTPS server binds
 * @param port its port (0: any free port)
 * @param namespace the operator's namespace, where the TLS Secret lives
 * @param manageTls create and renew the certificate (false: read a provided one)
 * @param servingNames the DNS names and IPs of a managed serving certificate
 * @param checkInterval how often the certificate and the CA bundle are checked
 */
public record WebhookOptions(
    String host,
    int port,
    String namespace,
    String tlsSecretName,
    String configurationName,
    boolean manageTls,
    List<String> servingNames,
    Duration certValidity,
    Duration certRenewBefore,
    Duration checkInterval,
    Optional<Set<String>> watchedNamespaces,
    SidecarSettings sidecar) {

  public static final Duration CHECK_INTERVAL = Duration.ofMinutes(5);

  public static WebhookOptions from(OperatorSettings settings) {
    OperatorSettings.Webhook webhook = settings.webhook();
    OperatorSettings.Sidecar sidecar = settings.sidecar();
    return new WebhookOptions(
        "0.0.0.0",
        webhook.port(),
        settings.operatorNamespace(),
        webhook.tlsSecretName(),
        webhook.configurationName(),
        webhook.manageTls(),
        WebhookTls.servingNames(webhook.serviceName(), settings.operatorNamespace(), webhook.url()),
        webhook.certValidity(),
        webhook.certRenewBefore(),
        CHECK_INTERVAL,
        settings.watchedNamespaces(),
        new SidecarSettings(
            sidecar.image(),
            sidecar.imagePullPolicy(),
            sidecar.listenPort(),
            sidecar.adminPort(),
            new SidecarSettings.Resources(
                sidecar.resources().requestsCpu(),
                sidecar.resources().requestsMemory(),
                sidecar.resources().limitsCpu().orElse(null),
                sidecar.resources().limitsMemory()),
            settings.operatorNamespace(),
            settings.redirectInit().image(),
            sidecar.drainSeconds(),
            sidecar.decisionLogAllowed()));
  }
}
