package io.tokengate.operator.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NativeSidecarSupportTest {
  @Test
  void nativeSidecarsFromKubernetes129() {
    assertThat(NativeSidecarSupport.supports("1", "28")).isFalse();
    assertThat(NativeSidecarSupport.supports("1", "29")).isTrue();
    assertThat(NativeSidecarSupport.supports("1", "30+")).isTrue(); // GKE/EKS style minor
    assertThat(NativeSidecarSupport.supports("2", "0")).isTrue();
    assertThat(NativeSidecarSupport.supports("", "")).isFalse();
  }

  @Test
  void unknownUntilDetected() {
    NativeSidecarSupport support = new NativeSidecarSupport();
    assertThat(support.known()).isFalse();
    assertThat(support.getAsBoolean()).isFalse(); // a regular container works everywhere
    assertThat(NativeSidecarSupport.fixed(true).getAsBoolean()).isTrue();
  }
}
