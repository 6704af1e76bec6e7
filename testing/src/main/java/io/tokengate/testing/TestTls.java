package io.tokengate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A self-signed server certificate for {@code 127.0.0.1} and {@code localhost}, made once per JVM
 * by the JDK's own {@code keytool} (a real key pair and certificate, no test-only crypto library).
 * Its PEM is the CA bundle a client must trust.
 */
public final class TestTls {
  private static final char[] PASSWORD = "tokengate-test".toCharArray();
  private static TestTls instance;

  private final SSLContext serverContext;
  private final String certificatePem;

  private TestTls(SSLContext serverContext, String certificatePem) {
    this.serverContext = serverContext;
    this.certificatePem = certificatePem;
  }

  /** The JVM-wide certificate, generated on first use (about a second). */
  public static synchronized TestTls get() {
    if (instance == null) {
      instance = generate();
    }
    return instance;
  }

  public SSLContext serverContext() {
    return serverContext;
  }

  /** The certificate as PEM: the {@code caBundle} that makes a client trust this server. */
  public String certificatePem() {
    return certificatePem;
  }

  private static TestTls generate() {
    try {
      Path dir = Files.createTempDirectory("tokengate-test-tls");
      Path store = dir.resolve("server.p12");
      String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
      Process process =
          new ProcessBuilder(
                  List.of(
                      keytool,
                      "-genkeypair",
                      "-alias",
                      "server",
                      "-keyalg",
                      "EC",
                      "-groupname",
                      "secp256r1",
                      "-dname",
                      "CN=tokengate test issuer",
                      "-ext",
                      "san=ip:127.0.0.1,dns:localhost",
                      "-validity",
                      "2",
                      "-storetype",
                      "PKCS12",
                      "-keystore",
                      store.toString(),
                      "-storepass",
                      new String(PASSWORD)))
              .redirectErrorStream(true)
              .start();
      String output = new String(process.getInputStream().readAllBytes());
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException("keytool failed: " + output);
      }
      KeyStore keyStore = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        keyStore.load(in, PASSWORD);
      }
      Certificate cert = keyStore.getCertificate("server");
      String pem =
          "-----BEGIN CERTIFICATE-----\n"
              + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(cert.getEncoded())
              + "\n-----END CERTIFICATE-----\n";
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keyStore, PASSWORD);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf.getKeyManagers(), null, null);
      Files.deleteIfExists(store);
      Files.deleteIfExists(dir);
      return new TestTls(context, pem);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("could not create the test TLS certificate", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
