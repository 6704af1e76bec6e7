package io.tokengate.sidecar.admin;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The application's own probes, which the admin port forwards to the application over loopback
 * without a token: with {@code interception: Redirect} or {@code Loopback} the kubelet can no
 * longer reach the application port itself, so the operator points each such probe at {@code
 * /app-health/<container>/<probe>} on the admin port and hands the original here ({@code
 * TOKENGATE_APP_PROBES}, or {@code --app-probes}).
 *
 * <p>The format is the Kubernetes probe's own JSON, keyed by the admin path, with ports as numbers:
 *
 * <pre>{@code
 * {"/app-health/app/livez":  {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP",
 *                                         "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
 *                             "timeoutSeconds": 1},
 *  "/app-health/app/readyz": {"tcpSocket": {"port": 8080}}}
 * }</pre>
 *
 * Anything else (another field, a host, a named port, a path outside {@code /app-health/}) is
 * refused when the sidecar starts, naming the entry: a probe is never forwarded half understood.
 */
public final class AppProbes {
  /** Where forwarded probes live on the admin port. */
  public static final String PREFIX = "/app-health/";

  private static final Pattern ADMIN_PATH = Pattern.compile("/app-health/[a-z0-9.-]+/[a-z]+");
  private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}");
  private static final int MAX_TIMEOUT_SECONDS = 300;

  public static final AppProbes NONE = new AppProbes(Map.of());

  /** One forwarded probe: an HTTP GET or a TCP connect to {@code 127.0.0.1:port}. */
  public record AppProbe(
      Kind kind,
      int port,
      String pathAndQuery,
      boolean https,
      List<Map.Entry<String, String>> headers,
      Duration timeout) {}

  public enum Kind {
    HTTP_GET,
    TCP_SOCKET
  }

  private final Map<String, AppProbe> byPath;

  private AppProbes(Map<String, AppProbe> byPath) {
    this.byPath = Map.copyOf(byPath);
  }

  /** The probe the admin path names, if one is configured. */
  public Optional<AppProbe> find(String adminPath) {
    return Optional.ofNullable(byPath.get(adminPath));
  }

  public int size() {
    return byPath.size();
  }

  /**
   * Parses the JSON described above; null or blank is no probe.
   *
   * @throws IllegalArgumentException naming the entry and field that is wrong
   */
  public static AppProbes parse(String json) {
    if (json == null || json.isBlank()) {
      return NONE;
    }
    JsonObject root;
    try {
      root = new JsonObject(json);
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException("not a JSON object: " + e.getMessage());
    }
    Map<String, AppProbe> probes = new LinkedHashMap<>();
    for (String path : root.fieldNames()) {
      if (!ADMIN_PATH.matcher(path).matches()) {
        throw new IllegalArgumentException(
            "'%s': a forwarded probe's path must be /app-health/<container>/<probe>"
                .formatted(path));
      }
      if (!(root.getValue(path) instanceof JsonObject probe)) {
        throw new IllegalArgumentException("'%s': must be a probe object".formatted(path));
      }
      probes.put(path, probe(path, probe));
    }
    return new AppProbes(probes);
  }

  private static AppProbe probe(String path, JsonObject probe) {
    only(path, probe, Set.of("httpGet", "tcpSocket", "timeoutSeconds"));
    Duration timeout =
        Duration.ofSeconds(
            number(path + ".timeoutSeconds", probe, "timeoutSeconds", 1, 1, MAX_TIMEOUT_SECONDS));
    JsonObject http = object(path, probe, "httpGet");
    JsonObject tcp = object(path, probe, "tcpSocket");
    if ((http == null) == (tcp == null)) {
      throw new IllegalArgumentException(
          "'%s': exactly one of httpGet and tcpSocket must be set".formatted(path));
    }
    if (tcp != null) {
      only(path + ".tcpSocket", tcp, Set.of("port"));
      return new AppProbe(
          Kind.TCP_SOCKET, port(path + ".tcpSocket", tcp), null, false, List.of(), timeout);
    }
    String where = path + ".httpGet";
    only(where, http, Set.of("path", "port", "scheme", "httpHeaders"));
    String target = Optional.ofNullable(text(where, http, "path")).orElse("/");
    if (!target.startsWith("/") || target.chars().anyMatch(c -> c <= 0x20 || c == 0x7f)) {
      throw new IllegalArgumentException(
          "'%s.path': must start with / and hold no whitespace or control character"
              .formatted(where));
    }
    String scheme = Optional.ofNullable(text(where, http, "scheme")).orElse("HTTP");
    if (!scheme.equals("HTTP") && !scheme.equals("HTTPS")) {
      throw new IllegalArgumentException(
          "'%s.scheme': HTTP or HTTPS, got '%s'".formatted(where, scheme));
    }
    return new AppProbe(
        Kind.HTTP_GET,
        port(where, http),
        target,
        scheme.equals("HTTPS"),
        headers(where, http),
        timeout);
  }

  private static List<Map.Entry<String, String>> headers(String where, JsonObject http) {
    Object value = http.getValue("httpHeaders");
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray array)) {
      throw new IllegalArgumentException("'%s.httpHeaders': must be a list".formatted(where));
    }
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    for (Object item : array) {
      if (!(item instanceof JsonObject header)) {
        throw new IllegalArgumentException(
            "'%s.httpHeaders': each entry is {name, value}".formatted(where));
      }
      only(where + ".httpHeaders", header, Set.of("name", "value"));
      String name = text(where + ".httpHeaders", header, "name");
      String v = Optional.ofNullable(text(where + ".httpHeaders", header, "value")).orElse("");
      if (name == null || !HEADER_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "'%s.httpHeaders': '%s' is not a header name".formatted(where, name));
      }
      if (v.chars().anyMatch(c -> (c < 0x20 && c != '\t') || c == 0x7f)) {
        throw new IllegalArgumentException(
            "'%s.httpHeaders': the value of %s holds a control character".formatted(where, name));
      }
      headers.add(Map.entry(name, v));
    }
    return List.copyOf(headers);
  }

  private static void only(String where, JsonObject object, Set<String> allowed) {
    for (String field : object.fieldNames()) {
      if (!allowed.contains(field)) {
        throw new IllegalArgumentException(
            "'%s': field '%s' is not supported (allowed: %s)"
                .formatted(where, field, String.join(", ", new java.util.TreeSet<>(allowed))));
      }
    }
  }

  private static JsonObject object(String where, JsonObject parent, String field) {
    Object value = parent.getValue(field);
    if (value == null || value instanceof JsonObject) {
      return (JsonObject) value;
    }
    throw new IllegalArgumentException("'%s.%s': must be an object".formatted(where, field));
  }

  private static String text(String where, JsonObject parent, String field) {
    Object value = parent.getValue(field);
    if (value == null || value instanceof String) {
      return (String) value;
    }
    throw new IllegalArgumentException("'%s.%s': must be a string".formatted(where, field));
  }

  private static int port(String where, JsonObject parent) {
    return number(where + ".port", parent, "port", null, 1, 65535);
  }

  private static int number(
      String where, JsonObject parent, String field, Integer fallback, int min, int max) {
    Object value = parent.getValue(field);
    if (value == null && fallback != null) {
      return fallback;
    }
    if (!(value instanceof Integer n) || n < min || n > max) {
      throw new IllegalArgumentException(
          "'%s': a number between %d and %d, got %s".formatted(where, min, max, value));
    }
    return n;
  }
}
