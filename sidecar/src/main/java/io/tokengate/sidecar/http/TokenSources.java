package io.tokengate.sidecar.http;

import io.tokengate.api.v1alpha1.apipolicy.TokenSource;
import io.tokengate.sidecar.validation.GateFailure;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a policy reads the token from, in order; the first source present wins. A header source
 * matches its prefix case-insensitively ({@code bearer x} works for {@code Bearer }); a header
 * whose value does not start with the prefix (an {@code Authorization: Basic ...}) counts as
 * absent. A credential given twice in the same source is refused rather than guessed at. The {@code
 * Authorization} header with the {@code Bearer } prefix also takes the {@code DPoP} scheme (RFC
 * 9449 section 7.1), and says which one the client used.
 */
public final class TokenSources {
  private static final List<TokenSource> DEFAULT =
      List.of(TokenSource.header("Authorization", "Bearer "));

  private final Source[] sources;

  private TokenSources(Source[] sources) {
    this.sources = sources;
  }

  /**
   * A token as presented.
   *
   * @param token the token
   * @param dpop it came with the {@code DPoP} authorization scheme
   */
  public record Credential(String token, boolean dpop) {}

  public static TokenSources of(List<TokenSource> configured) {
    List<TokenSource> list = configured == null || configured.isEmpty() ? DEFAULT : configured;
    List<Source> out = new ArrayList<>();
    for (TokenSource t : list) {
      if (t.header != null) {
        String prefix = t.header.prefix == null ? "" : t.header.prefix;
        boolean dpop =
            t.header.name.equalsIgnoreCase("Authorization") && prefix.equalsIgnoreCase("Bearer ");
        out.add(new Header(t.header.name, prefix, dpop));
      } else if (t.cookie != null) {
        out.add(new Cookie(t.cookie.name));
      } else {
        out.add(new Query(t.query.name));
      }
    }
    return new TokenSources(out.toArray(Source[]::new));
  }

  /**
   * The token, or null when no source holds one.
   *
   * @throws GateFailure 400 {@code invalid_request} for a credential given twice
   */
  public String extract(MultiMap headers, String query) {
    Credential c = credential(headers, query);
    return c == null ? null : c.token();
  }

  /**
   * The token and how it was presented, or null when no source holds one.
   *
   * @throws GateFailure 400 {@code invalid_request} for a credential given twice
   */
  public Credential credential(MultiMap headers, String query) {
    for (Source s : sources) {
      Credential c = s.extract(headers, query);
      if (c != null) {
        return c;
      }
    }
    return null;
  }

  /** How the sources let a client send a token, as RFC 9728 {@code bearer_methods_supported}. */
  public List<String> bearerMethods() {
    List<String> methods = new ArrayList<>();
    for (Source s : sources) {
      String m =
          s instanceof Header h && h.name().equalsIgnoreCase("Authorization")
              ? "header"
              : s instanceof Query ? "query" : null;
      if (m != null && !methods.contains(m)) {
        methods.add(m);
      }
    }
    return methods;
  }

  /** Removes every token this policy reads from the forwarded headers ({@code forwardToken}). */
  public void stripHeaders(MultiMap forwarded) {
    for (Source s : sources) {
      s.strip(forwarded);
    }
  }

  /** The query without token parameters, or the query itself when no source reads the query. */
  public String stripQuery(String query) {
    if (query == null) {
      return null;
    }
    String out = query;
    for (Source s : sources) {
      if (s instanceof Query q) {
        out = q.strip(out);
      }
    }
    return out;
  }

  private sealed interface Source permits Header, Cookie, Query {
    Credential extract(MultiMap headers, String query);

    default void strip(MultiMap forwarded) {}
  }

  private record Header(String name, String prefix, boolean dpop) implements Source {
    private static final String DPOP = "DPoP ";

    @Override
    public Credential extract(MultiMap headers, String query) {
      String value = headers.get(name);
      if (value == null) {
        return null;
      }
      if (headers.getAll(name).size() > 1) {
        throw GateFailure.invalidRequest(
            "duplicate_credentials", "the " + name + " header was sent more than once");
      }
      if (dpop && value.regionMatches(true, 0, DPOP, 0, DPOP.length())) {
        return new Credential(value.substring(DPOP.length()).trim(), true);
      }
      if (!value.regionMatches(true, 0, prefix, 0, prefix.length())) {
        return null;
      }
      return new Credential(value.substring(prefix.length()).trim(), false);
    }

    @Override
    public void strip(MultiMap forwarded) {
      String value = forwarded.get(name);
      if (value != null
          && (value.regionMatches(true, 0, prefix, 0, prefix.length())
              || (dpop && value.regionMatches(true, 0, DPOP, 0, DPOP.length())))) {
        forwarded.remove(name);
      }
    }
  }

  private record Cookie(String name) implements Source {
    @Override
    public Credential extract(MultiMap headers, String query) {
      String found = null;
      for (String header : headers.getAll(HttpHeaders.COOKIE)) {
        int i = 0;
        while (i < header.length()) {
          int end = header.indexOf(';', i);
          if (end < 0) {
            end = header.length();
          }
          int eq = header.indexOf('=', i);
          if (eq > 0 && eq < end && header.substring(i, eq).trim().equals(name)) {
            if (found != null) {
              throw GateFailure.invalidRequest(
                  "duplicate_credentials", "the cookie " + name + " was sent more than once");
            }
            String v = header.substring(eq + 1, end).trim();
            if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
              v = v.substring(1, v.length() - 1);
            }
            found = v;
          }
          i = end + 1;
        }
      }
      return found == null ? null : new Credential(found, false);
    }

    @Override
    public void strip(MultiMap forwarded) {
      List<String> all = forwarded.getAll(HttpHeaders.COOKIE);
      if (all.isEmpty()) {
        return;
      }
      List<String> kept = new ArrayList<>();
      for (String header : all) {
        StringBuilder sb = new StringBuilder();
        for (String part : header.split(";")) {
          int eq = part.indexOf('=');
          String n = (eq < 0 ? part : part.substring(0, eq)).trim();
          if (n.equals(name) || part.isBlank()) {
            continue;
          }
          if (sb.length() > 0) {
            sb.append("; ");
          }
          sb.append(part.trim());
        }
        if (sb.length() > 0) {
          kept.add(sb.toString());
        }
      }
      forwarded.remove(HttpHeaders.COOKIE);
      for (String k : kept) {
        forwarded.add(HttpHeaders.COOKIE, k);
      }
    }
  }

  private record Query(String name) implements Source {
    @Override
    public Credential extract(MultiMap headers, String query) {
      if (query == null) {
        return null;
      }
      String found = null;
      for (String pair : query.split("&")) {
        int eq = pair.indexOf('=');
        String n = eq < 0 ? pair : pair.substring(0, eq);
        if (n.equals(name)) {
          if (found != null) {
            throw GateFailure.invalidRequest(
                "duplicate_credentials",
                "the query parameter " + name + " was sent more than once");
          }
          String raw = eq < 0 ? "" : pair.substring(eq + 1);
          try {
            found = URLDecoder.decode(raw, StandardCharsets.UTF_8);
          } catch (IllegalArgumentException e) {
            throw GateFailure.invalidRequest(
                "malformed_query", "the query parameter " + name + " is not decodable");
          }
        }
      }
      return found == null ? null : new Credential(found, false);
    }

    String strip(String query) {
      StringBuilder sb = new StringBuilder(query.length());
      for (String pair : query.split("&")) {
        int eq = pair.indexOf('=');
        String n = eq < 0 ? pair : pair.substring(0, eq);
        if (n.equals(name)) {
          continue;
        }
        if (sb.length() > 0) {
          sb.append('&');
        }
        sb.append(pair);
      }
      return sb.length() == 0 ? null : sb.toString();
    }
  }
}
