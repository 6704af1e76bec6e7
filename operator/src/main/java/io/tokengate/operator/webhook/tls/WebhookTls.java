package io.tokengate.operator.webhook.tls;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Where the webhook's serving certificate comes from. Managed: the operator's own CA and
 * certificate in the shared Secret, created and renewed here, with the CA kept in the webhook
 * configuration's caBundle. Provided: the Secret is written by someone else (a cert-manager
 * Certificate, say) and the CA bundle is theirs to set; it is only read.
 */
public final class WebhookTls {
  private static final Logger LOG = Logger.getLogger(WebhookTls.class);

  private final WebhookTlsSecret secret;
  private final CaBundlePublisher publisher; // null: provided certificates
  private final List<String> names;

  private WebhookTls(WebhookTlsSecret secret, CaBundlePublisher publisher, List<String> names) {
    this.secret = secret;
    this.publisher = publisher;
    this.names = List.copyOf(names);
  }

  public static WebhookTls managed(
      WebhookTlsSecret secret, CaBundlePublisher publisher, List<String> names) {
    return new WebhookTls(secret, publisher, names);
  }

  public static WebhookTls provided(WebhookTlsSecret secret) {
    return new WebhookTls(secret, null, List.of());
  }

  /**
   * The names a managed serving certificate is valid for: the Service's in-cluster names, and
   * loopback (plus the host of {@code url}) for an operator the API server calls by URL.
   */
  public static List<String> servingNames(String service, String namespace, Optional<String> url) {
    List<String> names = new ArrayList<>();
    names.add(service + "." + namespace + ".svc");
    names.add(service + "." + namespace + ".svc.cluster.local");
    names.add("localhost");
    names.add("127.0.0.1");
    url.map(u -> URI.create(u).getHost())
        .map(h -> h.startsWith("[") ? h.substring(1, h.length() - 1) : h)
        .filter(h -> !names.contains(h))
        .ifPresent(names::add);
    return names;
  }

  /**
   * One check (blocking): the certificate to serve now, renewed if due, and in managed mode the CA
   * bundle published. Returns whether the CA bundle is in place (always true when provided).
   */
  public Check check() {
    if (publisher == null) {
      ServingCertificate provided =
          secret
              .readProvided()
              .orElseThrow(
                  () ->
                      new IllegalStateException("the provided webhook TLS Secret does not exist"));
      return new Check(provided, true);
    }
    WebhookTlsMaterial material = secret.ensure(names);
    boolean published;
    try {
      published = publisher.publish(material.caBundlePem());
    } catch (RuntimeException e) {
      LOG.warnf("cannot patch the webhook CA bundle yet: %s", e.getMessage());
      published = false;
    }
    return new Check(ServingCertificate.of(material), published);
  }

  /** The outcome of one check. */
  public record Check(ServingCertificate certificate, boolean caBundlePublished) {}
}
