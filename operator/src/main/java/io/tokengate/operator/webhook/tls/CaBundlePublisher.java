package io.tokengate.operator.webhook.tls;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Keeps the CA bundle of the MutatingWebhookConfiguration the chart created equal to the operator's
 * CA. Only {@code clientConfig.caBundle} of its webhooks is written: the rules, selectors, and the
 * {@code service} or {@code url} the API server calls stay as the chart (or the user) set them.
 * Nothing is written when the bundle is already right, so replicas checking in turn cause no churn.
 */
public final class CaBundlePublisher {
  private static final Logger LOG = Logger.getLogger(CaBundlePublisher.class);
  private static final int ATTEMPTS = 5;

  private final KubernetesClient client;
  private final String configurationName;

  public CaBundlePublisher(KubernetesClient client, String configurationName) {
    this.client = client;
    this.configurationName = configurationName;
  }

  /**
   * Writes {@code caBundlePem} into every webhook of the configuration. Returns false when the
   * configuration does not exist (yet). Blocking: call it off the event loop.
   */
  public boolean publish(String caBundlePem) {
    String caBundle =
        Base64.getEncoder().encodeToString(caBundlePem.getBytes(StandardCharsets.US_ASCII));
    for (int attempt = 1; ; attempt++) {
      var resource =
          client
              .admissionRegistration()
              .v1()
              .mutatingWebhookConfigurations()
              .withName(configurationName);
      MutatingWebhookConfiguration configuration = resource.get();
      if (configuration == null) {
        LOG.warnf(
            "MutatingWebhookConfiguration %s does not exist: the API server cannot call the webhook",
            configurationName);
        return false;
      }
      List<MutatingWebhook> webhooks = configuration.getWebhooks();
      if (webhooks.stream().allMatch(w -> caBundle.equals(w.getClientConfig().getCaBundle()))) {
        return true;
      }
      webhooks.forEach(w -> w.getClientConfig().setCaBundle(caBundle));
      try {
        // Conditioned on the resourceVersion read: a concurrent edit is re-read, not overwritten.
        client
            .admissionRegistration()
            .v1()
            .mutatingWebhookConfigurations()
            .resource(configuration)
            .update();
        LOG.infof("patched the CA bundle of MutatingWebhookConfiguration %s", configurationName);
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT || attempt == ATTEMPTS) {
          throw e;
        }
      }
    }
  }
}
