package io.tokengate.operator.webhook.tls;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

/**
 * Issues the webhook's self-signed CA and its serving certificate (ECDSA P-256), and decides when
 * they are due: the serving certificate {@code renewBefore} its expiry, when its names changed or
 * when it is not signed by the current CA; the CA a third of its lifetime before expiry, keeping
 * the old CA in the bundle until it expires so certificates of both stay trusted during the switch.
 */
public final class WebhookCertificateIssuer {
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);

  /** Tolerated clock difference between the operator and the API server. */
  private static final Duration BACKDATE = Duration.ofHours(1);

  private final Clock clock;
  private final Duration servingValidity;
  private final Duration renewBefore;
  private final Duration caValidity;
  private final SecureRandom random = new SecureRandom();

  public WebhookCertificateIssuer(
      Clock clock, Duration servingValidity, Duration renewBefore, Duration caValidity) {
    if (renewBefore.compareTo(servingValidity) >= 0) {
      throw new IllegalArgumentException(
          "the certificate renewal period must be shorter than its validity");
    }
    this.clock = clock;
    this.servingValidity = servingValidity;
    this.renewBefore = renewBefore;
    this.caValidity = caValidity;
  }

  /** A new CA and a serving certificate for {@code names} (DNS names and IP addresses). */
  public WebhookTlsMaterial issue(Collection<String> names) {
    KeyPair ca = newKeyPair();
    X509Certificate caCert = caCertificate(ca);
    return serving(List.of(caCert), ca.getPrivate(), names);
  }

  /** The renewed material when anything is due, empty when {@code current} is fine as it is. */
  public Optional<WebhookTlsMaterial> renewal(
      WebhookTlsMaterial current, Collection<String> names) {
    Instant now = clock.instant();
    if (due(current.ca(), caValidity.dividedBy(3), now)) {
      KeyPair ca = newKeyPair();
      List<X509Certificate> bundle = new ArrayList<>();
      bundle.add(caCertificate(ca));
      current.caCertificates().stream().filter(c -> !expired(c, now)).forEach(bundle::add);
      return Optional.of(serving(bundle, ca.getPrivate(), names));
    }
    List<X509Certificate> live =
        current.caCertificates().stream().filter(c -> !expired(c, now)).toList();
    boolean servingDue =
        due(current.certificate(), renewBefore, now)
            || !normalized(names).equals(normalized(subjectAltNames(current.certificate())))
            || !signedBy(current.certificate(), current.ca());
    if (servingDue || live.size() != current.caCertificates().size()) {
      return Optional.of(serving(live, current.caKey(), names));
    }
    return Optional.empty();
  }

  /** The DNS names and IP addresses a certificate is valid for. */
  public static List<String> subjectAltNames(X509Certificate certificate) {
    try {
      Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
      if (sans == null) {
        return List.of();
      }
      return sans.stream().map(san -> String.valueOf(san.get(1))).toList();
    } catch (java.security.cert.CertificateParsingException e) {
      return List.of();
    }
  }

  /** IP literals in one canonical form (Java prints IPv6 SANs unabbreviated). */
  private static Set<String> normalized(Collection<String> names) {
    Set<String> out = new TreeSet<>();
    for (String name : names) {
      if (IPAddress.isValid(name)) {
        try {
          out.add(java.net.InetAddress.getByName(name).getHostAddress());
          continue;
        } catch (java.net.UnknownHostException e) {
          // an IP literal is never looked up; keep the name as it is
        }
      }
      out.add(name.toLowerCase(java.util.Locale.ROOT));
    }
    return out;
  }

  private WebhookTlsMaterial serving(
      List<X509Certificate> caBundle, PrivateKey caKey, Collection<String> names) {
    X509Certificate ca = caBundle.get(0);
    KeyPair leaf = newKeyPair();
    Set<String> sorted = new TreeSet<>(names);
    String commonName =
        sorted.stream().filter(n -> !IPAddress.isValid(n)).findFirst().orElse("tokengate-webhook");
    Instant now = clock.instant();
    try {
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              ca,
              serial(),
              Date.from(now.minus(BACKDATE)),
              Date.from(now.plus(servingValidity)),
              new X500Name("CN=" + commonName),
              leaf.getPublic());
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      builder
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(
              Extension.extendedKeyUsage,
              false,
              new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
          .addExtension(Extension.subjectAlternativeName, false, generalNames(sorted))
          .addExtension(
              Extension.subjectKeyIdentifier,
              false,
              utils.createSubjectKeyIdentifier(leaf.getPublic()))
          .addExtension(
              Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(ca));
      return new WebhookTlsMaterial(caBundle, caKey, sign(builder, caKey), leaf.getPrivate());
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot issue the webhook serving certificate", e);
    }
  }

  private X509Certificate caCertificate(KeyPair ca) {
    Instant now = clock.instant();
    X500Name name =
        new X500Name("CN=tokengate webhook CA " + now.getEpochSecond() + ",O=tokengate");
    try {
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
              name,
              serial(),
              Date.from(now.minus(BACKDATE)),
              Date.from(now.plus(caValidity)),
              name,
              ca.getPublic());
      builder
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(
              Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(
              Extension.subjectKeyIdentifier,
              false,
              new JcaX509ExtensionUtils().createSubjectKeyIdentifier(ca.getPublic()));
      return sign(builder, ca.getPrivate());
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot issue the webhook CA", e);
    }
  }

  private static GeneralNames generalNames(Collection<String> names) {
    return new GeneralNames(
        names.stream()
            .map(
                n ->
                    IPAddress.isValid(n)
                        ? new GeneralName(GeneralName.iPAddress, n)
                        : new GeneralName(GeneralName.dNSName, n))
            .toArray(GeneralName[]::new));
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static boolean due(X509Certificate certificate, Duration before, Instant now) {
    return !now.isBefore(certificate.getNotAfter().toInstant().minus(before));
  }

  private static boolean expired(X509Certificate certificate, Instant now) {
    return !now.isBefore(certificate.getNotAfter().toInstant());
  }

  static boolean signedBy(X509Certificate certificate, X509Certificate ca) {
    try {
      PublicKey key = ca.getPublicKey();
      certificate.verify(key);
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 is part of every JDK", e);
    }
  }

  private BigInteger serial() {
    return new BigInteger(127, random).add(BigInteger.ONE);
  }
}
