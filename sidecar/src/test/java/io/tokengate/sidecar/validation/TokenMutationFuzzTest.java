package io.tokengate.sidecar.validation;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import io.tokengate.sidecar.GateFailure;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Over 100,000 mutations of genuine tokens (bit flips, truncation, inserted and deleted characters,
 * swapped and duplicated parts, headers and claims re-encoded with other alg, kid, typ, crit, iss,
 * aud, exp, signatures replaced): none is accepted, and every one fails with a 401 {@link
 * GateFailure}, never another exception type. The seed is fixed, so a failure replays; the message
 * names the mutation.
 */
class TokenMutationFuzzTest {
  private static final int MUTATIONS = 100_000;
  private static final long SEED = 0x70CE_6A7EL;
  private static final String[] ALGS = {
    "none",
    "None",
    "HS256",
    "HS512",
    "RS256",
    "RS512",
    "PS256",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
    "rs256",
    "",
    "RSA-OAEP"
  };

  @Test
  void noMutatedTokenIsEverAccepted() throws Exception {
    Vertx vertx = Vertx.vertx();
    SigningKey rsa = SigningKey.rsa("rsa-1");
    SigningKey ec = SigningKey.ec("ec-1");
    SigningKey ed = SigningKey.ed25519("ed-1");
    try (TestIssuer idp = TestIssuer.builder().key(rsa).key(ec).key(ed).start()) {
      ValidationTuning tuning =
          Validation.FAST.withUnknownKidRefetchInterval(Duration.ofMillis(200));
      JwtValidator v =
          JwtValidator.create(
              vertx,
              idp.spec(),
              Validation.AUDIENCES,
              Optional.empty(),
              Validation.registry(),
              tuning);
      TestIssuer.await("ready", Duration.ofSeconds(10), v::ready);
      try {
        // Mostly RSA, whose verification is cheapest, so 100,000 mutations stay fast; EC and
        // Ed25519 tokens are mutated too.
        List<String> genuine = new ArrayList<>();
        genuine.add(idp.token().signedBy(rsa).sign());
        genuine.add(
            idp.token()
                .signedBy(rsa)
                .audience("api://x", TestIssuer.DEFAULT_AUDIENCE)
                .claim("scp", List.of("a", "b"))
                .sign());
        genuine.add(idp.token().signedBy(rsa).kid(null).type("at+jwt").claim("azp", "c").sign());
        genuine.add(idp.token().signedBy(ec).sign());
        genuine.add(idp.token().signedBy(ed).type(null).sign());
        Set<String> genuineSet = new HashSet<>(genuine);
        for (String g : genuine) {
          Validation.accepted(v, g); // the baseline: unmutated tokens pass
        }

        Random random = new Random(SEED);
        Map<String, Integer> byReason = new TreeMap<>();
        int tried = 0;
        List<String> batch = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        while (tried < MUTATIONS) {
          int pick = random.nextInt(20);
          String original = genuine.get(pick < 18 ? pick % 3 : pick - 15);
          String[] label = new String[1];
          String mutated = mutate(original, random, label, genuine);
          if (genuineSet.contains(mutated)) {
            continue; // a mutation that reproduced a genuine token is no mutation
          }
          batch.add(mutated);
          labels.add(label[0]);
          tried++;
          if (batch.size() == 2000 || tried == MUTATIONS) {
            List<Future<VerifiedToken>> outcomes = new ArrayList<>();
            for (String t : batch) {
              outcomes.add(v.validate(t));
            }
            for (int i = 0; i < outcomes.size(); i++) {
              GateFailure failure = failureOf(outcomes.get(i), labels.get(i), batch.get(i));
              byReason.merge(failure.reason(), 1, Integer::sum);
            }
            batch.clear();
            labels.clear();
          }
        }
        assertThat(byReason.values().stream().mapToInt(Integer::intValue).sum())
            .isEqualTo(MUTATIONS);
        // The mutations reach deep: signature checks and claim checks, not just the parser.
        assertThat(byReason)
            .containsKeys(
                RejectionReason.MALFORMED,
                RejectionReason.BAD_SIGNATURE,
                RejectionReason.UNSUPPORTED_ALGORITHM,
                RejectionReason.WRONG_ISSUER,
                RejectionReason.UNKNOWN_KID);
      } finally {
        v.close();
      }
    } finally {
      vertx.close();
    }
  }

  private static GateFailure failureOf(Future<VerifiedToken> f, String label, String token) {
    try {
      VerifiedToken t = f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      throw new AssertionError(
          "mutation '" + label + "' was accepted: " + token + " -> " + t.claims());
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (!(cause instanceof GateFailure g)) {
        throw new AssertionError("mutation '" + label + "' failed with " + cause, cause);
      }
      assertThat(g.status()).as("status for mutation '%s'", label).isEqualTo(401);
      return g;
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      throw new AssertionError("mutation '" + label + "' got no outcome", e);
    }
  }

  /** Mutations that work on any string, so they can be applied to an already mutated token. */
  private static final int[] TEXT_MUTATIONS = {0, 1, 2, 3, 5, 10};

  static String mutate(String token, Random r, String[] label, List<String> genuine) {
    return mutate(token, r.nextInt(12), r, label, genuine);
  }

  private static String mutate(
      String token, int kind, Random r, String[] label, List<String> genuine) {
    if (token.isEmpty()) {
      label[0] = "empty";
      return "";
    }
    String[] parts = token.split("\\.", -1);
    switch (kind) {
      case 0 -> {
        label[0] = "bit flip";
        byte[] bytes = token.getBytes(StandardCharsets.ISO_8859_1);
        int i = r.nextInt(bytes.length);
        bytes[i] ^= (byte) (1 << r.nextInt(8));
        return new String(bytes, StandardCharsets.ISO_8859_1);
      }
      case 1 -> {
        label[0] = "truncation";
        return token.substring(0, r.nextInt(token.length()));
      }
      case 2 -> {
        label[0] = "inserted character";
        int i = r.nextInt(token.length() + 1);
        char c = "AZaz09-_.=+/ \u00e9\u0000".charAt(r.nextInt(15));
        return token.substring(0, i) + c + token.substring(i);
      }
      case 3 -> {
        label[0] = "deleted character";
        int i = r.nextInt(token.length());
        return token.substring(0, i) + token.substring(i + 1);
      }
      case 4 -> {
        label[0] = "swapped parts";
        int a = r.nextInt(3);
        int b = (a + 1 + r.nextInt(2)) % 3;
        String tmp = parts[a];
        parts[a] = parts[b];
        parts[b] = tmp;
        return String.join(".", parts);
      }
      case 5 -> {
        label[0] = "duplicated or dropped part";
        List<String> list = new ArrayList<>(List.of(parts));
        if (r.nextBoolean()) {
          list.add(r.nextInt(list.size() + 1), list.get(r.nextInt(list.size())));
        } else {
          list.remove(r.nextInt(list.size()));
        }
        return String.join(".", list);
      }
      case 6 -> {
        label[0] = "header re-encoded";
        Map<String, Object> header = json(parts[0]);
        switch (r.nextInt(6)) {
          case 0 -> header.put("alg", ALGS[r.nextInt(ALGS.length)]);
          case 1 ->
              header.put(
                  "kid",
                  r.nextBoolean() ? "k" + r.nextInt(1000) : pick(r, "rsa-1", "ec-1", "ed-1"));
          case 2 -> header.remove(r.nextBoolean() ? "kid" : "typ");
          case 3 -> header.put("typ", pick(r, "JOSE", "jwt", "at+jwt", "x"));
          case 4 -> header.put("crit", List.of("exp"));
          default -> header.put("jku", "http://127.0.0.1:1/keys");
        }
        parts[0] = encode(header);
        return String.join(".", parts);
      }
      case 7 -> {
        label[0] = "claims re-encoded";
        Map<String, Object> claims = json(parts[1]);
        switch (r.nextInt(6)) {
          case 0 ->
              claims.put(
                  "iss", pick(r, "https://evil", String.valueOf(claims.get("iss")) + "/", ""));
          case 1 -> claims.put("aud", pick(r, "api://other", TestIssuer.DEFAULT_AUDIENCE));
          case 2 ->
              claims.put("exp", ((Number) claims.get("exp")).longValue() + 1 + r.nextInt(100_000));
          case 3 -> claims.remove("exp");
          case 4 -> claims.put("sub", "admin");
          default -> claims.put("scp", "everything");
        }
        parts[1] = encode(claims);
        return String.join(".", parts);
      }
      case 8 -> {
        label[0] = "random signature";
        byte[] sig = new byte[Base64URL.from(parts[2]).decode().length];
        r.nextBytes(sig);
        parts[2] = Base64URL.encode(sig).toString();
        return String.join(".", parts);
      }
      case 9 -> {
        label[0] = "signature of another token";
        String[] other = genuine.get(r.nextInt(genuine.size())).split("\\.");
        parts[2] = other[2];
        return String.join(".", parts);
      }
      case 10 -> {
        label[0] = "case change";
        int i = r.nextInt(token.length());
        char c = token.charAt(i);
        char flipped =
            Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c);
        return token.substring(0, i) + flipped + token.substring(i + 1);
      }
      default -> {
        String[] first = new String[1];
        String[] second = new String[1];
        String once = mutate(token, r.nextInt(11), r, first, genuine);
        String twice =
            mutate(once, TEXT_MUTATIONS[r.nextInt(TEXT_MUTATIONS.length)], r, second, genuine);
        label[0] = first[0] + " + " + second[0];
        return twice;
      }
    }
  }

  private static String pick(Random r, String... options) {
    return options[r.nextInt(options.length)];
  }

  private static Map<String, Object> json(String part) {
    try {
      return new LinkedHashMap<>(
          JSONObjectUtils.parse(new String(Base64URL.from(part).decode(), StandardCharsets.UTF_8)));
    } catch (java.text.ParseException e) {
      throw new AssertionError(e);
    }
  }

  private static String encode(Map<String, Object> json) {
    return Base64URL.encode(JSONObjectUtils.toJSONString(json).getBytes(StandardCharsets.UTF_8))
        .toString();
  }
}
