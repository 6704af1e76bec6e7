package io.tokengate.operator.webhook;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.operator.injection.SidecarSettings;
import io.tokengate.operator.webhook.tls.WebhookCertificateIssuer;
import io.tokengate.operator.webhook.tls.WebhookTlsMaterial;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;

/** Shared pieces of the webhook tests and the latency benchmark: settings, policies, TLS trust. */
public final class WebhookTestKit {
  public static final SidecarSettings SIDECAR =
      new SidecarSettings(
          "tokengate/sidecar:0.1.0",
          "IfNotPresent",
          SidecarSettings.DEFAULT_LISTEN_PORT,
          SidecarSettings.DEFAULT_ADMIN_PORT,
          new SidecarSettings.Resources("50m", "64Mi", null, "128Mi"),
          "tokengate-system");

  private WebhookTestKit() {}

  public static WebhookCertificateIssuer issuer() {
    return new WebhookCertificateIssuer(
        Clock.systemUTC(), Duration.ofDays(90), Duration.ofDays(30), Duration.ofDays(3650));
  }

  /** A client-side SSLContext that trusts exactly the given CA certificates. */
  public static SSLContext trusting(List<X509Certificate> cas) {
    try {
      return WebhookCheck.trusting(cas);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public static SSLContext trusting(WebhookTlsMaterial material) {
    return trusting(material.caCertificates());
  }

  /** A test resource as text. */
  public static String resource(String path) {
    try (InputStream in = WebhookTestKit.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An ApiPolicy for pods labelled app={@code app}, rendered, protecting port {@code port}. */
  public static ApiPolicy policy(String namespace, String name, String app, int port) {
    String yaml =
        """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata:
          name: %2$s
          namespace: %1$s
          creationTimestamp: "2026-01-10T08:00:00Z"
        spec:
          selector:
            matchLabels:
              app: %3$s
          issuerRef:
            kind: TokenIssuer
            name: corp-idp
          audiences: [api://%3$s]
          upstream:
            port: %4$d
        status:
          configMapName: tokengate-%2$s
          configHash: sha256:4f1c2b7e9a0d3c5b8e6f1a2d4c7b9e0f3a5d8c1b6e9f2a4d7c0b3e5f8a1d4c7b
        """
            .formatted(namespace, name, app, port);
    return (ApiPolicy) ResourceReader.read(name, yaml).get(0);
  }

  /** An AdmissionReview (JSON) creating a pod labelled app={@code app} with a named port. */
  public static String podCreateReview(String uid, String namespace, String app, int port) {
    return """
        {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
          "uid":"%1$s",
          "kind":{"group":"","version":"v1","kind":"Pod"},
          "resource":{"group":"","version":"v1","resource":"pods"},
          "namespace":"%2$s","operation":"CREATE",
          "userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller"},
          "object":{"apiVersion":"v1","kind":"Pod",
            "metadata":{"generateName":"%3$s-","namespace":"%2$s","labels":{"app":"%3$s"}},
            "spec":{"containers":[{"name":"%3$s","image":"example/%3$s:1.0",
              "ports":[{"name":"http","containerPort":%4$d,"protocol":"TCP"}],
              "readinessProbe":{"httpGet":{"path":"/ready","port":"http"}}}]}},
          "dryRun":false}}
        """
        .formatted(uid, namespace, app, port);
  }
}
