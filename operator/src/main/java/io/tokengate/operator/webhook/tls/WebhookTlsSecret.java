package io.tokengate.operator.webhook.tls;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The Secret every operator replica shares its webhook certificate through. Replicas coordinate by
 * optimistic concurrency only: the first to create the Secret wins and the others read the
 * winner's; a renewal is an update conditioned on the resourceVersion it read, and a replica that
 * loses that race takes the material the winner wrote.
 */
public final class WebhookTlsSecret {
  private static final Logger LOG = Logger.getLogger(WebhookTlsSecret.class);
  private static final int ATTEMPTS = 5;

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final WebhookCertificateIssuer issuer;

  public WebhookTlsSecret(
      KubernetesClient client, String namespace, String name, WebhookCertificateIssuer issuer) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.issuer = issuer;
  }

  /**
   * The valid material for {@code names}, creating or renewing the Secret when needed. Blocking:
   * call it off the event loop.
   */
  public WebhookTlsMaterial ensure(Collection<String> names) {
    for (int attempt = 1; ; attempt++) {
      Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
      try {
        return secret == null ? create(names) : renewIfDue(secret, names);
      } catch (KubernetesClientException e) {
        boolean lostRace =
            e.getCode() == HttpURLConnection.HTTP_CONFLICT; // AlreadyExists and Conflict are 409
        if (!lostRace || attempt == ATTEMPTS) {
          throw e;
        }
        LOG.debugf("another replica wrote Secret %s/%s first; reading theirs", namespace, name);
      }
    }
  }

  private WebhookTlsMaterial create(Collection<String> names) {
    WebhookTlsMaterial material = issuer.issue(names);
    client
        .secrets()
        .inNamespace(namespace)
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(namespace)
                .addToLabels("app.kubernetes.io/managed-by", "tokengate-operator")
                .addToLabels("app.kubernetes.io/component", "webhook")
                .endMetadata()
                .withType("kubernetes.io/tls")
                .withData(material.toSecretData())
                .build())
        .create();
    LOG.infof("created the webhook CA and serving certificate in Secret %s/%s", namespace, name);
    return material;
  }

  private WebhookTlsMaterial renewIfDue(Secret secret, Collection<String> names) {
    Optional<WebhookTlsMaterial> current = read(secret);
    Optional<WebhookTlsMaterial> renewed =
        current.isEmpty() ? Optional.of(issuer.issue(names)) : issuer.renewal(current.get(), names);
    if (renewed.isEmpty()) {
      return current.get();
    }
    Secret updated = new SecretBuilder(secret).withData(renewed.get().toSecretData()).build();
    // The read resourceVersion stays in the object: the update fails with 409 if anyone wrote
    // in between, and the caller reads the winner's material.
    client.secrets().inNamespace(namespace).resource(updated).update();
    LOG.infof(
        "renewed the webhook certificate in Secret %s/%s (valid until %s)",
        namespace, name, renewed.get().certificate().getNotAfter().toInstant());
    return renewed.get();
  }

  private Optional<WebhookTlsMaterial> read(Secret secret) {
    try {
      return Optional.of(WebhookTlsMaterial.fromSecretData(secret.getData()));
    } catch (IllegalArgumentException e) {
      LOG.warnf(
          "Secret %s/%s does not hold a usable webhook certificate (%s); issuing a new one",
          namespace, name, e.getMessage());
      return Optional.empty();
    }
  }

  /** The serving certificate and key of a Secret someone else manages (cert-manager...). */
  public Optional<ServingCertificate> readProvided() {
    Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
    if (secret == null) {
      return Optional.empty();
    }
    Map<String, String> data = Optional.ofNullable(secret.getData()).orElse(Map.of());
    return Optional.of(
        new ServingCertificate(
            WebhookTlsMaterial.text(data, WebhookTlsMaterial.TLS_CERT),
            WebhookTlsMaterial.text(data, WebhookTlsMaterial.TLS_KEY)));
  }
}
