package io.tokengate.sidecar.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestPathTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "/, /",
    "/orders, /orders",
    "/orders/, /orders/",
    "/a/../b, /b",
    "/a/./b, /a/b",
    "/a//b, /a/b",
    "//admin, /admin",
    "/public/%2e%2e/admin, /admin",
    "/public/%2E%2e/admin, /admin",
    "/public/.%2e/admin, /admin",
    "/a/b/.., /a/",
    "/a/b/., /a/b/",
    "/%61dmin, /admin",
    "/caf%c3%a9, /caf%C3%A9",
    "/a%20b, /a%20b",
    "/.well-known/jwks, /.well-known/jwks",
    "/a/b;jsessionid=1/c, /a/b;jsessionid=1/c",
    "http://example.com/x/../y, /y",
    "http://example.com, /",
  })
  void normalises(String raw, String normal) {
    assertThat(RequestPath.parse(raw).path()).isEqualTo(normal);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/..",
        "/../etc/passwd",
        "/a/../../b",
        "/%2e%2e/x",
        "/a%2Fb",
        "/a%2fb",
        "/a%5Cb",
        "/a\\b",
        "/a%zz",
        "/a%4",
        "/a%00b",
        "/a%0d%0aX:1",
        "/a/%c0%ae%c0%ae/b",
        "/a/%c0%af",
        "/a/%e0%80%ae",
        "/a/%ff",
        "/a/%252e%252e/b",
        "/a/%252F",
        "/a/%255c",
        "/a?x=1\u0001",
        "/a?x= 1",
        "/a?x=\r\nY:1",
        "/a?x=\u00c3",
        "/a/..;/b",
        "/a/.;x/b",
        "*",
        "ftp://x/y",
        ""
      })
  void refusesWhatCannotBeNormalisedSafely(String raw) {
    assertThatThrownBy(() -> RequestPath.parse(raw))
        .isInstanceOf(RequestPath.InvalidPathException.class)
        .hasMessageNotContaining("null");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"/a?x=1&y=%2F, x=1&y=%2F", "/a/../b?q, q", "/a?, ''"})
  void keepsTheQueryUntouched(String raw, String query) {
    RequestPath p = RequestPath.parse(raw);
    assertThat(p.query()).isEqualTo(query);
    assertThat(p.uri()).isEqualTo(p.path() + "?" + query);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {"/|", "/a/b/|a,b", "/a;p=1/b|a,b", "/x//y/|x,y"})
  void segmentsForMatchingDropParametersAndTheTrailingSlash(String raw, String segments) {
    String[] expected = segments == null ? new String[0] : segments.split(",");
    assertThat(RequestPath.parse(raw).segments()).containsExactly(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/caf\u00c3\u00a9"})
  void rawNonAsciiBytesAreEscaped(String raw) {
    assertThat(RequestPath.parse(raw).path()).isEqualTo("/caf%C3%A9");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"/a%2Fb/c, /a%2Fb/c", "/a/%5c, /a/%5C", "/a/%252e, /a/%252e"})
  void escapedSeparatorsAreKeptUnchangedWhenThePolicySaysSo(String raw, String path) {
    RequestPath p = RequestPath.parse(raw, true);
    assertThat(p.path()).isEqualTo(path);
    // The escape stays inside its segment: it never splits the path.
    assertThat(p.segments()).hasSize(path.split("/").length - 1);
    assertThat(p.segments()).anyMatch(seg -> seg.contains("%"));
  }

  @org.junit.jupiter.api.Test
  void nonAsciiQueryBytesAreKeptAsTheCharactersTheyEncode() {
    // The decoder hands UTF-8 bytes over one char per byte; forwarded, the query must be written
    // as the same bytes again, not as the UTF-8 of each byte.
    String raw = "/a?q=caf\u00c3\u00a9&x=%C3%A9";
    RequestPath p = RequestPath.parse(raw);
    assertThat(p.query()).isEqualTo("q=caf\u00e9&x=%C3%A9");
    assertThat(p.query().getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo(
            "q=caf\u00c3\u00a9&x=%C3%A9".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
  }
}
