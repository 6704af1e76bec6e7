package io.tokengate.sidecar.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AppProbesTest {
  @Test
  void theOperatorsFormat() {
    AppProbes probes =
        AppProbes.parse(
            """
            {"/app-health/app/livez": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTPS",
               "httpHeaders": [{"name": "X-Probe", "value": "1"}]}, "timeoutSeconds": 3},
             "/app-health/app/readyz": {"tcpSocket": {"port": 8081}}}
            """);
    assertThat(probes.size()).isEqualTo(2);
    var live = probes.find("/app-health/app/livez").orElseThrow();
    assertThat(live.kind()).isEqualTo(AppProbes.Kind.HTTP_GET);
    assertThat(live.port()).isEqualTo(8080);
    assertThat(live.pathAndQuery()).isEqualTo("/healthz");
    assertThat(live.https()).isTrue();
    assertThat(live.headers()).containsExactly(Map.entry("X-Probe", "1"));
    assertThat(live.timeout()).isEqualTo(Duration.ofSeconds(3));
    var ready = probes.find("/app-health/app/readyz").orElseThrow();
    assertThat(ready.kind()).isEqualTo(AppProbes.Kind.TCP_SOCKET);
    assertThat(ready.timeout()).isEqualTo(Duration.ofSeconds(1));
    assertThat(probes.find("/app-health/app/startupz")).isEmpty();
    assertThat(AppProbes.parse(null).size()).isZero();
    assertThat(AppProbes.parse(" ").size()).isZero();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "[]| not a JSON object",
        "{\"/healthz\": {\"tcpSocket\": {\"port\": 1}}}| /app-health/<container>/<probe>",
        "{\"/app-health/a/livez\": 1}| must be a probe object",
        "{\"/app-health/a/livez\": {}}| exactly one of httpGet and tcpSocket",
        "{\"/app-health/a/livez\": {\"exec\": {}}}| field 'exec' is not supported",
        "{\"/app-health/a/livez\": {\"tcpSocket\": {\"port\": \"http\"}}}| .tcpSocket.port': a number between 1 and 65535, got http",
        "{\"/app-health/a/livez\": {\"tcpSocket\": {\"port\": 70000}}}| got 70000",
        "{\"/app-health/a/livez\": {\"httpGet\": {\"port\": 80, \"host\": \"evil\"}}}| field 'host' is not supported",
        "{\"/app-health/a/livez\": {\"httpGet\": {\"port\": 80, \"path\": \"x\"}}}| must start with /",
        "{\"/app-health/a/livez\": {\"httpGet\": {\"port\": 80, \"scheme\": \"FTP\"}}}| HTTP or HTTPS",
        "{\"/app-health/a/livez\": {\"httpGet\": {\"port\": 80, \"httpHeaders\": [{\"name\": \"a b\"}]}}}| 'a b' is not a header name",
        "{\"/app-health/a/livez\": {\"httpGet\": {\"port\": 80}, \"timeoutSeconds\": 0}}| timeoutSeconds': a number between 1 and 300",
      })
  void refusedNamingTheEntry(String json, String message) {
    assertThatThrownBy(() -> AppProbes.parse(json))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message.strip());
  }
}
