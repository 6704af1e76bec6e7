package io.tokengate.sidecar.validation;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TargetUriTest {
  @Test
  void normalisesWhatRfc3986SaysIsTheSameUrl() {
    String base = "https://api.example.com/orders/1";
    assertThat(TargetUri.normalize("HTTPS://API.Example.COM:443/orders/1")).isEqualTo(base);
    assertThat(TargetUri.normalize("https://api.example.com/orders/./x/../1")).isEqualTo(base);
    assertThat(TargetUri.normalize("https://api.example.com/orders/1?q=1#f")).isEqualTo(base);
    assertThat(TargetUri.normalize("https://api.example.com/%6Frders/1")).isEqualTo(base);
    assertThat(TargetUri.normalize("http://a.example")).isEqualTo("http://a.example/");
    assertThat(TargetUri.normalize("http://a.example:80/x%2fy"))
        .isEqualTo("http://a.example/x%2Fy");
  }

  @Test
  void keepsWhatMakesAnotherUrl() {
    assertThat(TargetUri.normalize("https://api.example.com:8443/orders/1"))
        .isEqualTo("https://api.example.com:8443/orders/1");
    assertThat(TargetUri.normalize("http://api.example.com/orders/1"))
        .isNotEqualTo(TargetUri.normalize("https://api.example.com/orders/1"));
    assertThat(TargetUri.normalize("https://api.example.com/Orders/1"))
        .isNotEqualTo(TargetUri.normalize("https://api.example.com/orders/1"));
  }

  @Test
  void refusesWhatIsNotAnAbsoluteHttpUrl() {
    assertThat(TargetUri.normalize("/orders/1")).isNull();
    assertThat(TargetUri.normalize("ftp://a.example/x")).isNull();
    assertThat(TargetUri.normalize("https://a.example/%zz")).isNull();
    assertThat(TargetUri.normalize("https://a example/")).isNull();
    assertThat(TargetUri.normalize(null)).isNull();
  }
}
