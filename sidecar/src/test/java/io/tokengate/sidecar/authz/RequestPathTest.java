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
}
