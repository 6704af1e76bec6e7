package io.tokengate.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LaunchOptionsTest {
  static LaunchOptions parse(Map<String, String> env, String... args) {
    return LaunchOptions.parse(args, env);
  }

  @Test
  void theInjectorsCommandLine() {
    LaunchOptions o =
        parse(
            Map.of(),
            "--config",
            "/etc/tokengate",
            "--listen-port",
            "15080",
            "--admin-port",
            "15021");
    assertThat(o.config()).isEqualTo(Path.of("/etc/tokengate"));
    assertThat(o.listenPort()).isEqualTo(15080);
    assertThat(o.adminPort()).isEqualTo(15021);
    assertThat(o.drainSeconds()).isEqualTo(20);
    assertThat(o.listenHost()).isEqualTo("0.0.0.0");
  }

  @Test
  void environmentTwinsAndFlagsWinOverThem() {
    Map<String, String> env =
        Map.of(
            "TOKENGATE_CONFIG", "/env/cfg",
            "TOKENGATE_LISTEN_PORT", "9000",
            "TOKENGATE_ADMIN_PORT", "9001",
            "TOKENGATE_DRAIN_SECONDS", "7");
    LaunchOptions fromEnv = parse(env);
    assertThat(fromEnv.config()).isEqualTo(Path.of("/env/cfg"));
    assertThat(fromEnv.listenPort()).isEqualTo(9000);
    assertThat(fromEnv.adminPort()).isEqualTo(9001);
    assertThat(fromEnv.drainSeconds()).isEqualTo(7);
    LaunchOptions flags = parse(env, "--listen-port=9100", "--drain-seconds", "0");
    assertThat(flags.listenPort()).isEqualTo(9100);
    assertThat(flags.drainSeconds()).isZero();
    assertThat(flags.adminPort()).isEqualTo(9001);
  }

  @Test
  void defaultsForThePortsStayClearOfOtherMeshes() {
    LaunchOptions o = parse(Map.of(), "--config", "x.yaml");
    assertThat(o.listenPort()).isEqualTo(7450);
    assertThat(o.adminPort()).isEqualTo(7451);
    // Istio 15000-15090, Linkerd 4143/4191, Dapr 3500/50001.
    for (int p : new int[] {o.listenPort(), o.adminPort()}) {
      assertThat(p >= 15000 && p <= 15090).as("inside Istio's range: " + p).isFalse();
      assertThat(p).isNotIn(4143, 4191, 3500, 50001);
    }
  }

  @Test
  void help() {
    assertThat(parse(Map.of(), "--help").help()).isTrue();
    assertThat(parse(Map.of(), "-h").help()).isTrue();
    assertThat(LaunchOptions.USAGE).contains("--config PATH").contains("TOKENGATE_ADMIN_PORT");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "--config x --listen-port abc|--listen-port: 'abc' is not a number",
        "--config x --listen-port 70000|--listen-port: 70000 is out of range",
        "--config x --admin-port -1|--admin-port: -1 is out of range",
        "--config x --admin-port|--admin-port needs a value",
        "--config x --listen-port 8000 --admin-port 8000|must differ",
        "--config x --drain-seconds 99999|--drain-seconds",
        "--config x --verbose|unknown option '--verbose'",
        "--config|--config needs a value",
        "--listen-port 1|--config PATH is required",
        "--config x stray|unexpected argument 'stray'",
        "--config x --listen-host bad/host|not a host name",
      })
  void aBadCommandLineSaysWhatIsWrong(String line, String message) {
    assertThatThrownBy(() -> parse(Map.of(), line.split(" ")))
        .isInstanceOf(LaunchOptions.UsageException.class)
        .hasMessageContaining(message);
  }

  @Test
  void aBadEnvironmentValueNamesTheFlag() {
    assertThatThrownBy(() -> parse(Map.of("TOKENGATE_CONFIG", "x", "TOKENGATE_ADMIN_PORT", "http")))
        .hasMessageContaining("--admin-port");
  }

  @Test
  void applicationProbesFromTheEnvironmentOrTheFlag() {
    String json = "{\"/app-health/app/livez\": {\"tcpSocket\": {\"port\": 8080}}}";
    assertThat(parse(Map.of("TOKENGATE_APP_PROBES", json), "--config", "/c").appProbes().size())
        .isEqualTo(1);
    assertThat(parse(Map.of(), "--config", "/c", "--app-probes", json).appProbes().size())
        .isEqualTo(1);
    assertThat(parse(Map.of(), "--config", "/c").appProbes().size()).isZero();
    assertThatThrownBy(
            () -> parse(Map.of("TOKENGATE_APP_PROBES", "{\"/x\": {}}"), "--config", "/c"))
        .isInstanceOf(LaunchOptions.UsageException.class)
        .hasMessageContaining("TOKENGATE_APP_PROBES")
        .hasMessageContaining("/app-health/<container>/<probe>");
  }
}
