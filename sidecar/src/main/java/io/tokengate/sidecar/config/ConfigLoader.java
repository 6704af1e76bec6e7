package io.tokengate.sidecar.config;

import com.nimbusds.jose.jwk.JWKSet;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.IssuerRef;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.api.v1alpha1.yaml.InvalidResourceException;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads the sidecar's configuration from PATH: one YAML file, or a directory of {@code *.yaml} /
 * {@code *.yml} files plus {@code <issuer-name>.jwks.json} key snapshots. The directory may be a
 * kubelet ConfigMap volume, whose visible names are symlinks into a {@code ..data} directory that
 * the kubelet swaps atomically; hidden entries (starting with {@code .}) are skipped. Blocking file
 * I/O: call it from a worker, never an event loop. {@link #parse} reads one kind of file itself:
 * the introspection client secret an issuer names ({@code spec.introspection.clientSecretFile}).
 */
public final class ConfigLoader {
  private static final String SNAPSHOT_SUFFIX = ".jwks.json";

  private ConfigLoader() {}

  /**
   * Reads, parses and checks the configuration.
   *
   * @throws InvalidConfigException naming each file and field that is wrong
   */
  public static SidecarConfig load(Path path) {
    Map<Path, String> files = read(path);
    return parse(path, files);
  }

  /**
   * The files PATH stands for, with their contents, in name order. Exposed so a watcher can see
   * exactly what a load would read.
   *
   * @throws InvalidConfigException when PATH is missing or unreadable
   */
  public static Map<Path, String> read(Path path) {
    Map<Path, String> out = new LinkedHashMap<>();
    for (Path f : files(path)) {
      try {
        out.put(f, Files.readString(f, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new InvalidConfigException(
            new ConfigProblem(f.toString(), null, null, "cannot read: " + describe(e)));
      }
    }
    return out;
  }

  private static List<Path> files(Path path) {
    if (!Files.exists(path)) {
      throw new InvalidConfigException(
          new ConfigProblem(path.toString(), null, null, "does not exist"));
    }
    if (!Files.isDirectory(path)) {
      return List.of(path);
    }
    try (Stream<Path> entries = Files.list(path)) {
      List<Path> out =
          entries
              .filter(
                  p -> {
                    String name = p.getFileName().toString();
                    return !name.startsWith(".")
                        && (name.endsWith(".yaml")
                            || name.endsWith(".yml")
                            || name.endsWith(SNAPSHOT_SUFFIX))
                        && Files.isRegularFile(p);
                  })
              .sorted()
              .toList();
      if (out.stream().noneMatch(ConfigLoader::isYaml)) {
        throw new InvalidConfigException(
            new ConfigProblem(path.toString(), null, null, "holds no *.yaml or *.yml file"));
      }
      return out;
    } catch (IOException e) {
      throw new InvalidConfigException(
          new ConfigProblem(path.toString(), null, null, "cannot list: " + describe(e)));
    }
  }

  private static boolean isYaml(Path p) {
    String name = p.getFileName().toString();
    return name.endsWith(".yaml") || name.endsWith(".yml");
  }

  /**
   * Parses and checks files already read by {@link #read}; the only I/O is reading client secret
   * files (call it off the event loop).
   *
   * @throws InvalidConfigException naming each file and field that is wrong
   */
  public static SidecarConfig parse(Path path, Map<Path, String> files) {
    List<Found<ApiPolicy>> policies = new ArrayList<>();
    List<Found<IssuerResource>> issuers = new ArrayList<>();
    Map<String, Path> snapshots = new LinkedHashMap<>();
    for (Map.Entry<Path, String> e : files.entrySet()) {
      String name = e.getKey().getFileName().toString();
      if (name.endsWith(SNAPSHOT_SUFFIX)) {
        snapshots.put(name.substring(0, name.length() - SNAPSHOT_SUFFIX.length()), e.getKey());
        continue;
      }
      List<HasMetadata> docs;
      try {
        docs = ResourceReader.read(e.getKey().toString(), e.getValue());
      } catch (InvalidResourceException ex) {
        throw new InvalidConfigException(
            new ConfigProblem(ex.source(), ex.resource(), null, ex.problem()));
      }
      for (HasMetadata doc : docs) {
        if (doc instanceof ApiPolicy p) {
          policies.add(new Found<>(e.getKey().toString(), p));
        } else if (doc instanceof IssuerResource i) {
          issuers.add(new Found<>(e.getKey().toString(), i));
        }
      }
    }
    String where = path.toString();
    if (policies.isEmpty()) {
      throw new InvalidConfigException(
          new ConfigProblem(where, null, null, "no ApiPolicy found; exactly one is required"));
    }
    if (policies.size() > 1) {
      List<String> names =
          policies.stream().map(f -> f.file() + " (" + ref(f.resource()) + ")").toList();
      throw new InvalidConfigException(
          new ConfigProblem(
              where,
              null,
              null,
              "found "
                  + policies.size()
                  + " ApiPolicy documents, exactly one is allowed: "
                  + String.join(", ", names)));
    }
    Found<ApiPolicy> policy = policies.get(0);
    List<IssuerRef> refs = policy.resource().getSpec().trustedIssuers();
    if (refs.isEmpty()) {
      throw new InvalidConfigException(
          new ConfigProblem(
              policy.file(),
              ref(policy.resource()),
              "spec.issuerRef",
              "required (or spec.issuerRefs)"));
    }
    String refField = policy.resource().getSpec().issuerRefs == null ? "spec.issuerRef" : null;
    List<Found<IssuerResource>> trusted = new ArrayList<>();
    for (int i = 0; i < refs.size(); i++) {
      trusted.add(
          resolve(
              where,
              policy,
              refs.get(i),
              refField != null ? refField : "spec.issuerRefs[" + i + "]",
              issuers));
    }

    List<ConfigProblem> problems = new ArrayList<>();
    ConfigChecks.checkPolicy(policy.file(), policy.resource(), problems);
    List<SidecarConfig.TrustedIssuer> resolved = new ArrayList<>();
    List<Found<IssuerResource>> checked = new ArrayList<>();
    for (Found<IssuerResource> issuer : trusted) {
      ConfigChecks.checkIssuer(issuer.file(), issuer.resource(), problems);
      String overlap = overlapping(issuer, checked);
      if (overlap != null) {
        problems.add(
            new ConfigProblem(
                policy.file(),
                ref(policy.resource()),
                "spec.issuerRefs",
                overlap + ": a token could not be routed to one of them"));
      }
      checked.add(issuer);
      List<String> audiences = ConfigChecks.effectiveAudiences(policy, issuer, problems);
      resolved.add(
          snapshotOf(
              issuer,
              audiences,
              snapshots.get(issuer.resource().getMetadata().getName()),
              files,
              problems));
    }
    RequestHandling requestHandling =
        RequestHandling.from(
            policy.resource().getSpec().requestHandling,
            policy.file(),
            ref(policy.resource()),
            problems);
    if (!problems.isEmpty()) {
      throw new InvalidConfigException(problems);
    }
    return new SidecarConfig(
        where, policy.resource(), policy.file(), List.copyOf(resolved), requestHandling);
  }

  private static SidecarConfig.TrustedIssuer snapshotOf(
      Found<IssuerResource> issuer,
      List<String> audiences,
      Path snapshotPath,
      Map<Path, String> files,
      List<ConfigProblem> problems) {
    JWKSet snapshot = null;
    String snapshotFile = null;
    if (snapshotPath != null) {
      snapshotFile = snapshotPath.toString();
      try {
        JWKSet parsed = JWKSet.parse(files.get(snapshotPath));
        // A snapshot only ever seeds verification: never keep private parts in memory.
        snapshot = parsed.getKeys().isEmpty() ? null : parsed.toPublicJWKSet();
      } catch (ParseException ex) {
        problems.add(
            new ConfigProblem(
                snapshotFile, null, null, "not a JWKS ({\"keys\": [...]}): " + ex.getMessage()));
      }
    }
    return new SidecarConfig.TrustedIssuer(
        issuer.resource(),
        issuer.file(),
        audiences,
        snapshot,
        snapshot == null ? null : snapshotFile,
        clientSecret(issuer, problems));
  }

  /** Largest client secret file read. */
  private static final int MAX_SECRET_BYTES = 4096;

  /**
   * Reads {@code spec.introspection.clientSecretFile} (the one file read outside PATH: a Secret the
   * operator mounts beside the ConfigMap); a trailing newline is not part of the secret.
   */
  private static String clientSecret(Found<IssuerResource> issuer, List<ConfigProblem> problems) {
    var introspection = issuer.resource().getSpec().introspection;
    if (introspection == null
        || introspection.clientSecretFile == null
        || introspection.clientSecretFile.isBlank()) {
      return null;
    }
    Path file = Path.of(introspection.clientSecretFile);
    try {
      if (Files.size(file) > MAX_SECRET_BYTES) {
        throw new IOException("larger than " + MAX_SECRET_BYTES + " bytes");
      }
      String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (secret.isEmpty()) {
        throw new IOException("empty");
      }
      return secret;
    } catch (IOException | RuntimeException e) {
      problems.add(
          new ConfigProblem(
              issuer.file(),
              ref(issuer.resource()),
              "spec.introspection.clientSecretFile",
              "cannot read the client secret from "
                  + file
                  + ": "
                  + (e instanceof IOException io ? describe(io) : e.getClass().getSimpleName())));
      return null;
    }
  }

  private static Found<IssuerResource> resolve(
      String where,
      Found<ApiPolicy> policy,
      IssuerRef ref,
      String field,
      List<Found<IssuerResource>> issuers) {
    if (ref == null || ref.name == null || ref.name.isEmpty()) {
      throw new InvalidConfigException(
          new ConfigProblem(policy.file(), ref(policy.resource()), field + ".name", "required"));
    }
    String kind =
        ref.kind == IssuerRef.IssuerKind.ClusterTokenIssuer
            ? ClusterTokenIssuer.KIND
            : TokenIssuer.KIND;
    List<Found<IssuerResource>> matches =
        issuers.stream()
            .filter(
                i ->
                    i.resource().getKind().equals(kind)
                        && i.resource().getMetadata().getName().equals(ref.name))
            .toList();
    if (matches.isEmpty()) {
      String present =
          issuers.isEmpty()
              ? "none"
              : String.join(", ", issuers.stream().map(i -> ref(i.resource())).toList());
      throw new InvalidConfigException(
          new ConfigProblem(
              policy.file(),
              ref(policy.resource()),
              field,
              kind
                  + " '"
                  + ref.name
                  + "' is not among the documents in "
                  + where
                  + " (issuers present: "
                  + present
                  + ")"));
    }
    if (matches.size() > 1) {
      throw new InvalidConfigException(
          new ConfigProblem(
              where,
              null,
              null,
              kind
                  + " '"
                  + ref.name
                  + "' is defined more than once ("
                  + String.join(", ", matches.stream().map(Found::file).toList())
                  + ")"));
    }
    Found<IssuerResource> issuer = matches.get(0);
    if (issuer.resource() instanceof TokenIssuer) {
      String pns = policy.resource().getMetadata().getNamespace();
      String ins = issuer.resource().getMetadata().getNamespace();
      if (pns != null && ins != null && !pns.equals(ins)) {
        throw new InvalidConfigException(
            new ConfigProblem(
                policy.file(),
                ref(policy.resource()),
                field,
                "TokenIssuer '"
                    + ref.name
                    + "' is in namespace '"
                    + ins
                    + "', the policy in '"
                    + pns
                    + "'; reference a TokenIssuer of the same namespace or a"
                    + " ClusterTokenIssuer"));
      }
    }
    return issuer;
  }

  /**
   * Names an issuer in {@code earlier} (another resource) accepting an {@code iss} that {@code
   * issuer} accepts too (the same spec.issuer, or a tenant of a multi-tenant template) and what
   * they share; or null. Specs the checks refused are skipped: their problems are reported already.
   */
  private static String overlapping(
      Found<IssuerResource> issuer, List<Found<IssuerResource>> earlier) {
    for (Found<IssuerResource> other : earlier) {
      if (ref(other.resource()).equals(ref(issuer.resource()))) {
        continue;
      }
      try {
        TokenIssuerSpec a = other.resource().getSpec();
        TokenIssuerSpec b = issuer.resource().getSpec();
        if (IssuerTemplate.overlap(a, b)) {
          return ref(other.resource())
              + " and "
              + ref(issuer.resource())
              + (String.valueOf(a.issuer).equals(b.issuer)
                  ? " have the same spec.issuer " + b.issuer
                  : " accept tokens of the same iss (a tenant of "
                      + IssuerTemplate.routingKey(a.tenants != null ? a : b)
                      + ")");
        }
      } catch (IllegalArgumentException refusedAlready) {
        // spec.tenants on an issuer that is not multi-tenant: ConfigChecks names it.
      }
    }
    return null;
  }

  static String ref(HasMetadata r) {
    return r.getKind() + "/" + r.getMetadata().getName();
  }

  private static String describe(IOException e) {
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
  }

  /** A resource and the file it was read from. */
  record Found<T>(String file, T resource) {}
}
