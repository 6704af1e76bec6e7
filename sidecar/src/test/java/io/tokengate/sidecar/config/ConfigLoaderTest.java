package io.tokengate.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import io.tokengate.api.v1alpha1.apipolicy.Dpop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
  static final String ISSUER =
      """
      apiVersion: tokengate.io/v1alpha1
      kind: TokenIssuer
      metadata: {name: idp, namespace: shop}
      spec:
        issuer: https://idp.example.com/realms/shop
        audiences: [api://orders]
      """;

  static String policy(String specExtra) {
    return """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: orders-api, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          issuerRef: {name: idp}
          upstream: {port: 8080}
        """
        + specExtra.indent(2);
  }

  @TempDir Path dir;

  Path write(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    return p;
  }

  @Test
  void theExamplesLoadAsTheyAre() throws Exception {
    // The policy and its issuer, as they are; examples/ also holds the app they protect.
    write("tokenissuer.yaml", Files.readString(Path.of("../examples/tokenissuer.yaml")));
    Path policy = write("apipolicy.yaml", Files.readString(Path.of("../examples/apipolicy.yaml")));
    SidecarConfig c = ConfigLoader.load(policy.getParent());
    assertThat(c.policyId()).isEqualTo("shop/orders-api");
    assertThat(c.firstIssuer().issuer().getMetadata().getName()).isEqualTo("corp-idp");
    assertThat(c.firstIssuer().audiences()).containsExactly("api://orders");
  }

  @Test
  void theAgentExampleLoadsWithTheExampleIssuer() throws Exception {
    write("issuer.yaml", Files.readString(Path.of("../examples/tokenissuer.yaml")));
    Path policy =
        write("policy.yaml", Files.readString(Path.of("../examples/agents/apipolicy.yaml")));
    SidecarConfig c = ConfigLoader.load(policy.getParent());
    assertThat(c.policyId()).isEqualTo("shop/orders-mcp");
    assertThat(c.policy().getSpec().dpop).isEqualTo(Dpop.Required);
    assertThat(c.policy().getSpec().resourceMetadata.resource)
        .isEqualTo("https://orders.example.com/mcp");
  }

  @Test
  void severalIssuersEachWithItsOwnAudiencesAndSnapshot() throws Exception {
    write(
        "issuers.yaml",
        ISSUER
            + "---\n"
            + ISSUER
                .replace("name: idp,", "name: partner,")
                .replace("realms/shop", "realms/partner")
                .replace("api://orders", "api://partner"));
    write(
        "policy.yaml",
        policy("").replace("issuerRef: {name: idp}", "issuerRefs: [{name: idp}, {name: partner}]"));
    write(
        "partner.jwks.json",
        "{\"keys\":["
            + new RSAKeyGenerator(2048).keyID("p-1").generate().toPublicJWK().toJSONString()
            + "]}");
    SidecarConfig c = ConfigLoader.load(dir);
    assertThat(c.issuers())
        .extracting(SidecarConfig.TrustedIssuer::name)
        .containsExactly("idp", "partner");
    assertThat(c.issuers().get(0).audiences()).containsExactly("api://orders");
    assertThat(c.issuers().get(1).audiences()).containsExactly("api://partner");
    assertThat(c.issuers().get(0).snapshot()).isNull();
    assertThat(c.issuers().get(1).snapshot().getKeys()).hasSize(1);
  }

  @Test
  void twoIssuersWithTheSameIdentifierCannotBeToldApart() throws Exception {
    write("issuers.yaml", ISSUER + "---\n" + ISSUER.replace("name: idp,", "name: twin,"));
    write(
        "policy.yaml",
        policy("").replace("issuerRef: {name: idp}", "issuerRefs: [{name: idp}, {name: twin}]"));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("spec.issuerRefs")
        .hasMessageContaining("TokenIssuer/idp and TokenIssuer/twin have the same spec.issuer");
  }

  static final String TID = "72f988bf-86f1-41af-91ab-2d7cd011db47";

  static String entra(String name, String issuer, String tenants) {
    return """
        apiVersion: tokengate.io/v1alpha1
        kind: TokenIssuer
        metadata: {name: %s, namespace: shop}
        spec:
          issuer: %s
          tenants: %s
          audiences: [api://orders]
        """
        .formatted(name, issuer, tenants);
  }

  @Test
  void aMultiTenantIssuerListsItsTenants() throws Exception {
    write(
        "issuer.yaml",
        entra("idp", "https://login.microsoftonline.com/organizations/v2.0", "[" + TID + "]"));
    write("policy.yaml", policy(""));
    SidecarConfig c = ConfigLoader.load(dir);
    assertThat(c.firstIssuer().issuer().getSpec().tenants).containsExactly(TID);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "https://idp.example.com/realms/shop | ['*'] | spec.tenants: applies only to a"
            + " multi-tenant issuer",
        "https://login.microsoftonline.com/" + TID + "/v2.0 | ['*'] | spec.tenants: applies only",
        "https://login.microsoftonline.com/organizations/v2.0 | ['*', "
            + TID
            + "] | '*' (every"
            + " tenant) must be the only entry",
        "https://login.microsoftonline.com/organizations/v2.0 | [72F988BF-86F1-41AF-91AB-2D7CD011DB47]"
            + " | spec.tenants[0]: '72F988BF-86F1-41AF-91AB-2D7CD011DB47' is not a tenant id",
        "https://login.microsoftonline.com/organizations/v2.0 | [contoso.onmicrosoft.com] |"
            + " spec.tenants[0]: 'contoso.onmicrosoft.com' is not a tenant id",
        "https://login.microsoftonline.com/organizations/v2.0 | [] | must list 1 to 1000 tenant"
            + " ids"
      })
  void badTenantListsAreRefusedNamingTheField(String issuer, String tenants, String message)
      throws Exception {
    write("issuer.yaml", entra("idp", issuer.strip(), tenants.strip()));
    write("policy.yaml", policy(""));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining(message.strip());
  }

  @Test
  void twoIssuersAcceptingOneTenantsTokensCannotBeToldApart() throws Exception {
    write(
        "issuers.yaml",
        entra("orgs", "https://login.microsoftonline.com/organizations/v2.0", "['*']")
            + "---\n"
            + ISSUER
                .replace("name: idp,", "name: single,")
                .replace(
                    "https://idp.example.com/realms/shop",
                    "https://login.microsoftonline.com/" + TID + "/v2.0"));
    write(
        "policy.yaml",
        policy("").replace("issuerRef: {name: idp}", "issuerRefs: [{name: orgs}, {name: single}]"));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("spec.issuerRefs")
        .hasMessageContaining(
            "TokenIssuer/orgs and TokenIssuer/single accept tokens of the same iss (a tenant of"
                + " https://login.microsoftonline.com/{tenantid}/v2.0)");
    // v1 and v2 tokens of one tenant differ in iss: both issuers may serve one policy.
    write(
        "issuers.yaml",
        entra("orgs", "https://login.microsoftonline.com/organizations/v2.0", "['*']")
            + "---\n"
            + entra("single", "https://login.microsoftonline.com/organizations", "['*']"));
    assertThat(ConfigLoader.load(dir).issuers()).hasSize(2);
  }

  @Test
  void twoIssuersOfOneNameAreRefusedWhateverTheirKinds() throws Exception {
    write(
        "issuers.yaml",
        ISSUER
            + "---\n"
            + ISSUER
                .replace("kind: TokenIssuer", "kind: ClusterTokenIssuer")
                .replace("name: idp, namespace: shop", "name: idp")
                .replace("realms/shop", "realms/cluster"));
    write(
        "policy.yaml",
        policy("")
            .replace(
                "issuerRef: {name: idp}",
                "issuerRefs: [{name: idp}, {kind: ClusterTokenIssuer, name: idp}]"));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("spec.issuerRefs[1]")
        .hasMessageContaining("'idp' is named twice");
  }

  @Test
  void aMissingIssuerOfSeveralIsNamedByItsIndex() throws Exception {
    write("issuer.yaml", ISSUER);
    write(
        "policy.yaml",
        policy("").replace("issuerRef: {name: idp}", "issuerRefs: [{name: idp}, {name: gone}]"));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("spec.issuerRefs[1]")
        .hasMessageContaining("TokenIssuer 'gone' is not among the documents");
  }

  @Test
  void oneMultiDocumentFile() throws Exception {
    Path f = write("all.yaml", ISSUER + "---\n" + policy(""));
    SidecarConfig c = ConfigLoader.load(f);
    assertThat(c.policyFile()).isEqualTo(f.toString());
    assertThat(c.firstIssuer().issuerFile()).isEqualTo(f.toString());
    assertThat(c.firstIssuer().audiences()).containsExactly("api://orders");
    assertThat(c.firstIssuer().snapshot()).isNull();
  }

  @Test
  void aKubeletConfigMapVolumeWithAKeySnapshot() throws Exception {
    RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
    Path data = dir.resolve("..2026_12_01_10_00_00.123");
    Files.createDirectories(data);
    Files.writeString(data.resolve("policy.yaml"), policy(""));
    Files.writeString(data.resolve("issuer.yaml"), ISSUER);
    // The snapshot carries the private part by mistake: only the public key may be kept.
    Files.writeString(data.resolve("idp.jwks.json"), new JWKSet(key).toString(false));
    Files.writeString(data.resolve("other.jwks.json"), "{not json");
    Files.createSymbolicLink(dir.resolve("..data"), data.getFileName());
    for (String n : List.of("policy.yaml", "issuer.yaml", "idp.jwks.json", "other.jwks.json")) {
      Files.createSymbolicLink(dir.resolve(n), Path.of("..data").resolve(n));
    }
    write(".hidden.yaml", "this is not yaml: [");
    write("README.txt", "ignored");

    SidecarConfig c = ConfigLoader.load(dir);
    assertThat(c.firstIssuer().snapshot().getKeys()).hasSize(1);
    assertThat(c.firstIssuer().snapshot().getKeys().get(0).isPrivate()).isFalse();
    assertThat(c.firstIssuer().snapshotFile()).endsWith("idp.jwks.json");
  }

  @Test
  void aBrokenSnapshotOfTheReferencedIssuerNamesItsFile() throws Exception {
    write("policy.yaml", policy(""));
    write("issuer.yaml", ISSUER);
    write("idp.jwks.json", "{\"keys\": 7}");
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("idp.jwks.json")
        .hasMessageContaining("not a JWKS");
  }

  @Test
  void missingPathAndEmptyDirectory() throws Exception {
    assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("nope")))
        .hasMessageContaining("nope")
        .hasMessageContaining("does not exist");
    assertThatThrownBy(() -> ConfigLoader.load(dir)).hasMessageContaining("no *.yaml");
  }

  @Test
  void exactlyOnePolicy() throws Exception {
    write("issuer.yaml", ISSUER);
    assertThatThrownBy(() -> ConfigLoader.load(dir)).hasMessageContaining("no ApiPolicy found");
    write("a.yaml", policy(""));
    write("b.yaml", policy("").replace("orders-api", "other"));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("found 2 ApiPolicy documents")
        .hasMessageContaining("a.yaml (ApiPolicy/orders-api)")
        .hasMessageContaining("b.yaml (ApiPolicy/other)");
  }

  @Test
  void theIssuerRefMustResolveToADocumentPresent() throws Exception {
    write(
        "policy.yaml",
        policy("")
            .replace("issuerRef: {name: idp}", "issuerRef: {kind: ClusterTokenIssuer, name: idp}"));
    write("issuer.yaml", ISSUER);
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining(
            "policy.yaml: ApiPolicy/orders-api: spec.issuerRef: ClusterTokenIssuer 'idp'")
        .hasMessageContaining("issuers present: TokenIssuer/idp");
  }

  @Test
  void aTokenIssuerOfAnotherNamespaceIsNotReachable() throws Exception {
    write("policy.yaml", policy(""));
    write("issuer.yaml", ISSUER.replace("namespace: shop", "namespace: billing"));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("spec.issuerRef")
        .hasMessageContaining("namespace 'billing'");
  }

  @Test
  void audiencesFromThePolicyOrTheIssuerButSomewhere() throws Exception {
    write("issuer.yaml", ISSUER.replace("  audiences: [api://orders]\n", ""));
    write("policy.yaml", policy(""));
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .hasMessageContaining("policy.yaml: ApiPolicy/orders-api: spec.audiences: required");
    write("policy.yaml", policy("audiences: [api://mine]"));
    assertThat(ConfigLoader.load(dir).firstIssuer().audiences()).containsExactly("api://mine");
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "upstream: {port: 70000}|spec.upstream.port|between 1 and 65535",
        "upstream: {port: 8080, timeout: soon}|spec.upstream.timeout|invalid duration",
        "upstream: {port: 8080, protocol: HTTP2}|spec.upstream.protocol|is not one of HTTP1, H2C",
        "upstream: {port: 8080, protocol: null}|spec.upstream.protocol|must be HTTP1 or H2C",
        "rules: [{paths: [\"admin/**\"]}]|spec.rules[0].paths[0]|must start with '/'",
        "rules: [{paths: [\"/a**\"]}]|spec.rules[0].paths[0]|whole segment",
        "rules: [{paths: [\"/a/../b\"]}]|spec.rules[0].paths[0]|'..'",
        "rules: [{paths: []}]|spec.rules[0].paths|1 to 64",
        "rules: [{paths: [\"/x\"], methods: [get]}]|spec.rules[0].methods[0]|upper-case",
        "rules: [{paths: [\"/x\"], methods: [PSOT]}]|spec.rules[0].methods[0]|spec.extensionMethods",
        "rules: [{paths: [\"/x\"], action: Allow, require: {scopes: [a]}}]|spec.rules[0].require|only applies to action Authenticated",
        "rules: [{paths: [\"/x\"], require: {claims: {tid: []}}}]|spec.rules[0].require.claims.tid|at least one allowed value",
        "forwardClaims: {sub: \"X Subject\"}|spec.forwardClaims.sub|not a header name",
        "forwardClaims: {sub: Host}|spec.forwardClaims.sub|controls",
        "forwardClaims: {sub: Authorization}|spec.forwardClaims.sub|controls",
        "forwardClaims: {sub: X-User, oid: x-user}|spec.forwardClaims.oid|already used",
        "tokenSources: [{header: {name: \"Auth Header\"}}]|spec.tokenSources[0].header.name|not a valid HTTP token",
        "tokenSources: [{header: {name: X-T}, cookie: {name: t}}]|spec.tokenSources[0]|exactly one",
        "tokenSources: []|spec.tokenSources|1 to 8",
        "limits: {maxTokenBytes: 10}|spec.limits.maxTokenBytes|between 256",
        "claimSources: {roles: [realm_access..roles]}|spec.claimSources.roles[0]|empty segment",
        "mode: Shadow|spec.mode|is not one of Enforce, Audit",
        "dpop: Sometimes|spec.dpop|is not one of Allowed, Required",
        "issuerRefs: [{name: idp}]|spec|exactly one of issuerRef or issuerRefs",
        "rules: [{paths: [\"/x\"], require: {issuers: [other]}}]|spec.rules[0].require.issuers[0]|not an issuer of issuerRef or issuerRefs",
        "resourceMetadata: {resource: \"http://orders.example.com\"}|spec.resourceMetadata.resource|https URL",
        "resourceMetadata: {resource: \"https://orders.example.com/?x=1\"}|spec.resourceMetadata.resource|without query",
        "resourceMetadata: {}|spec.resourceMetadata.resource|required",
        "unknownField: 1|unknownField|unknown field",
      })
  void aWrongPolicyFieldIsNamedWithItsFile(String extra, String field, String message)
      throws Exception {
    write("issuer.yaml", ISSUER);
    String p = policy("");
    if (extra.startsWith("upstream:")) {
      p = p.replace("  upstream: {port: 8080}\n", "  " + extra + "\n");
    } else {
      p = policy(extra);
    }
    write("policy.yaml", p);
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("policy.yaml")
        .hasMessageContaining("ApiPolicy/orders-api")
        .hasMessageContaining(field)
        .hasMessageContaining(message);
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "issuer: http://idp.example.com|spec.issuer|must be an https:// URL",
        "issuer: not a url|spec.issuer|not",
        "jwksUri: http://idp.example.com/keys|spec.jwksUri|https://",
        "discovery: false|spec|no key source",
        "jwks: {keys: [{kty: RSA, kid: a, n: x, e: AQAB}]}|spec.jwks|contradict",
        "caSecretRef: {name: ca}|spec.caSecretRef|cannot read Secrets",
        "caBundle: hello|spec.caBundle|PEM",
        "clockSkewSeconds: 9000|spec.clockSkewSeconds|between 0 and 600",
        "refreshInterval: 0s|spec.refreshInterval|greater than zero",
        "algorithms: [HS256]|spec.algorithms|is not one of",
      })
  void aWrongIssuerFieldIsNamedWithItsFile(String extra, String field, String message)
      throws Exception {
    write("policy.yaml", policy(""));
    String issuer = ISSUER;
    if (extra.startsWith("issuer:")) {
      issuer =
          issuer.replace("  issuer: https://idp.example.com/realms/shop\n", "  " + extra + "\n");
    } else {
      issuer = issuer + "  " + extra + "\n";
    }
    write("issuer.yaml", issuer);
    assertThatThrownBy(() -> ConfigLoader.load(dir))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("issuer.yaml")
        .hasMessageContaining("TokenIssuer/idp")
        .hasMessageContaining(field)
        .hasMessageContaining(message);
  }

  @Test
  void allProblemsOfOneLoadAreReportedTogether() throws Exception {
    write("issuer.yaml", ISSUER.replace("https://idp", "http://idp"));
    write("policy.yaml", policy("limits: {maxTokenBytes: 1, maxHeaderBytes: 1}"));
    InvalidConfigException e =
        (InvalidConfigException)
            org.assertj.core.api.Assertions.catchThrowable(() -> ConfigLoader.load(dir));
    assertThat(e.problems())
        .extracting(ConfigProblem::field)
        .contains("spec.limits.maxTokenBytes", "spec.limits.maxHeaderBytes", "spec.issuer");
  }

  @Test
  void insecureHttpIsAllowedWhenTheIssuerSaysSo() throws Exception {
    write("policy.yaml", policy(""));
    write(
        "issuer.yaml", ISSUER.replace("https://idp", "http://idp") + "  allowInsecureHttp: true\n");
    assertThat(ConfigLoader.load(dir).firstIssuer().issuer().getSpec().issuer)
        .startsWith("http://");
  }
}
