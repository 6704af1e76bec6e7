package io.tokengate.operator.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tokengate.operator.webhook.tls.Pem;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;

/**
 * The chart's {@code helm test}: sends the webhook one AdmissionReview, as the API server does, and
 * checks the answer.
 *
 * <p>It goes through the webhook's Service, verifies the serving certificate against the CA the API
 * server trusts, and needs the review's {@code uid} echoed with a decision ({@code allowed}). The
 * pod in the review belongs to a namespace that does not exist, so no policy selects it and the
 * webhook's answer changes nothing. Runs with the JDK and Jackson only (the operator image's
 * runtime), outside Quarkus:
 *
 * <pre>
 * java -cp '/deployments/app/*:/deployments/lib/main/*' io.tokengate.operator.webhook.WebhookCheck \
 *     https://tokengate-webhook.tokengate-system.svc:443/mutate-pods /etc/tokengate-ca/ca.crt \
 *     [--connect-to 10.96.0.12]
 * </pre>
 *
 * Exit status 0 when the webhook answered, 1 (with the reason on stderr) when not, 2 on bad usage.
 */
public final class WebhookCheck {
  static final Duration TIMEOUT = Duration.ofSeconds(10);
  static final String NAMESPACE = "tokengate-helm-test-no-such-namespace";
  private static final ObjectMapper JSON = new ObjectMapper();

  private WebhookCheck() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    boolean connectTo = args.length == 4 && "--connect-to".equals(args[2]);
    if (args.length != 2 && !connectTo) {
      err.println(
          "usage: WebhookCheck <webhook https URL> <CA certificate PEM file> [--connect-to HOST]");
      return 2;
    }
    try {
      out.println(check(URI.create(args[0]), Path.of(args[1]), connectTo ? args[3] : null));
      return 0;
    } catch (CheckFailed | IllegalArgumentException e) {
      err.println("webhook check failed: " + e.getMessage());
      return 1;
    }
  }

  /**
   * Returns what the webhook answered; throws CheckFailed naming what went wrong.
   *
   * @param connectTo where to connect instead of the URL's host (the Service's cluster IP, where
   *     pods have no cluster DNS), or null; the certificate is verified for the URL's host either
   *     way, the name the API server uses
   */
  static String check(URI url, Path caFile, String connectTo) throws CheckFailed {
    if (!"https".equals(url.getScheme())) {
      throw new IllegalArgumentException("the webhook URL must be https://, got " + url);
    }
    String uid = UUID.randomUUID().toString();
    Response response;
    try {
      response = post(url, connectTo, trusting(caFile), review(uid));
    } catch (IOException e) {
      throw new CheckFailed(
          "no answer from " + url + (connectTo == null ? "" : " at " + connectTo) + ": " + e, e);
    }
    if (response.status() != 200) {
      throw new CheckFailed(url + " answered HTTP " + response.status() + ", not 200", null);
    }
    JsonNode answer;
    try {
      answer = JSON.readTree(response.body()).path("response");
    } catch (IOException e) {
      throw new CheckFailed(url + " answered something that is not JSON", e);
    }
    if (!uid.equals(answer.path("uid").asText())) {
      throw new CheckFailed(
          url + " answered without the review's uid (got '" + answer.path("uid").asText() + "')",
          null);
    }
    if (!answer.path("allowed").isBoolean()) {
      throw new CheckFailed(url + " answered without a decision (response.allowed)", null);
    }
    return "the webhook at "
        + url
        + " answered AdmissionReview "
        + uid
        + ": allowed="
        + answer.path("allowed").asBoolean()
        + (answer.has("patch") ? ", with a patch" : ", unchanged");
  }

  record Response(int status, String body) {}

  static Response post(URI url, String connectTo, SSLContext tls, String body) throws IOException {
    URI target = url;
    if (connectTo != null) {
      String host = connectTo.contains(":") ? "[" + connectTo + "]" : connectTo;
      int port = url.getPort() == -1 ? 443 : url.getPort();
      target = URI.create("https://" + host + ":" + port + url.getRawPath());
    }
    HttpsURLConnection connection = (HttpsURLConnection) target.toURL().openConnection();
    connection.setSSLSocketFactory(tls.getSocketFactory());
    // Called only when the certificate does not name the host connected to: it must then name
    // the URL's host.
    connection.setHostnameVerifier((connected, session) -> names(session, url.getHost()));
    connection.setConnectTimeout((int) TIMEOUT.toMillis());
    connection.setReadTimeout((int) TIMEOUT.toMillis());
    connection.setRequestMethod("POST");
    connection.setRequestProperty("Content-Type", "application/json");
    connection.setDoOutput(true);
    try (OutputStream out = connection.getOutputStream()) {
      out.write(body.getBytes(StandardCharsets.UTF_8));
    }
    int status = connection.getResponseCode();
    InputStream in = status < 400 ? connection.getInputStream() : connection.getErrorStream();
    try (InputStream answer = in) {
      return new Response(
          status, answer == null ? "" : new String(answer.readAllBytes(), StandardCharsets.UTF_8));
    } finally {
      connection.disconnect();
    }
  }

  /** Whether the peer's certificate names {@code host} among its DNS subject alternative names. */
  static boolean names(SSLSession session, String host) {
    try {
      X509Certificate peer = (X509Certificate) session.getPeerCertificates()[0];
      Collection<List<?>> names = peer.getSubjectAlternativeNames();
      return names != null
          && names.stream()
              .anyMatch(
                  n ->
                      Integer.valueOf(2).equals(n.get(0))
                          && host.equalsIgnoreCase((String) n.get(1)));
    } catch (SSLPeerUnverifiedException | CertificateParsingException e) {
      return false;
    }
  }

  static String review(String uid) {
    ObjectNode root = JSON.createObjectNode();
    root.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = root.putObject("request");
    request.put("uid", uid).put("operation", "CREATE").put("namespace", NAMESPACE);
    request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
    request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
    request.putObject("userInfo").put("username", "tokengate-helm-test");
    request.put("dryRun", true);
    ObjectNode pod = request.putObject("object");
    pod.put("apiVersion", "v1").put("kind", "Pod");
    pod.putObject("metadata").put("name", "tokengate-helm-test").put("namespace", NAMESPACE);
    ObjectNode container = pod.putObject("spec").putArray("containers").addObject();
    container.put("name", "app").put("image", "tokengate/helm-test");
    return root.toString();
  }

  static SSLContext trusting(Path caFile) throws CheckFailed {
    List<X509Certificate> cas;
    try {
      cas = Pem.parseCertificates(Files.readString(caFile));
    } catch (IOException | IllegalArgumentException e) {
      throw new CheckFailed("cannot read the CA certificate " + caFile + ": " + e.getMessage(), e);
    }
    try {
      return trusting(cas);
    } catch (IOException | GeneralSecurityException e) {
      throw new CheckFailed("cannot trust the CA certificate " + caFile + ": " + e, e);
    }
  }

  /** A client-side TLS context that trusts exactly {@code cas}. */
  public static SSLContext trusting(List<X509Certificate> cas)
      throws IOException, GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    for (int i = 0; i < cas.size(); i++) {
      store.setCertificateEntry("ca-" + i, cas.get(i));
    }
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }

  static final class CheckFailed extends Exception {
    CheckFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
