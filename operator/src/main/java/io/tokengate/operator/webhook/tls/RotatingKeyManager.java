package io.tokengate.operator.webhook.tls;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The serving key and certificate, swappable while the server runs. Every TLS handshake asks the
 * key manager, so a rotation is one reference swap: no SSL context is rebuilt, and no handshake in
 * progress can see half of it (each handshake resolves its alias once and reads that entry; the
 * previous entry stays readable for handshakes that began before the swap).
 */
public final class RotatingKeyManager extends X509ExtendedKeyManager {
  private record Entry(String alias, X509Certificate[] chain, PrivateKey key) {}

  private final AtomicLong generation = new AtomicLong();
  private volatile Entry current;
  private volatile Entry previous;

  /** Serves {@code certificate} from the next handshake on; throws when it cannot be parsed. */
  public synchronized void use(ServingCertificate certificate) {
    X509Certificate[] chain = certificate.chain();
    PrivateKey key = certificate.privateKey();
    if (!belongTogether(chain[0], key)) {
      throw new IllegalArgumentException("the private key does not belong to the certificate");
    }
    previous = current;
    current = new Entry("webhook-" + generation.incrementAndGet(), chain, key);
  }

  /** Whether {@code key} signs what the certificate's public key verifies. */
  static boolean belongTogether(X509Certificate certificate, PrivateKey key) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          case "Ed25519", "EdDSA" -> "Ed25519";
          default -> null;
        };
    if (algorithm == null) {
      return false;
    }
    try {
      byte[] challenge = "tokengate-webhook".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** The leaf certificate served now, or null before the first {@link #use}. */
  public X509Certificate served() {
    Entry entry = current;
    return entry == null ? null : entry.chain()[0];
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return alias(keyType);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return alias(keyType);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    String alias = alias(keyType);
    return alias == null ? null : new String[] {alias};
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    Entry entry = entry(alias);
    return entry == null ? null : entry.chain().clone();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    Entry entry = entry(alias);
    return entry == null ? null : entry.key();
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return null;
  }

  /** The current alias when its key fits the key type the handshake asks for (EC, RSA...). */
  private String alias(String keyType) {
    Entry entry = current;
    return entry != null && entry.key().getAlgorithm().equals(keyType) ? entry.alias() : null;
  }

  private Entry entry(String alias) {
    Entry now = current;
    if (now != null && now.alias().equals(alias)) {
      return now;
    }
    Entry before = previous;
    return before != null && before.alias().equals(alias) ? before : null;
  }
}
