package io.tokengate.api.v1alpha1.apipolicy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.generator.annotation.ValidationRule;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class HttpMethodsTest {

  @Test
  void theCrdRuleListsExactlyTheStandardMethods() {
    String rule =
        Arrays.stream(ApiPolicySpec.class.getAnnotationsByType(ValidationRule.class))
            .map(ValidationRule::value)
            .filter(v -> v.contains("r.methods"))
            .findFirst()
            .orElseThrow();
    Matcher list = Pattern.compile("\\[('[A-Z]+'(?:, '[A-Z]+')*)\\]").matcher(rule);
    assertThat(list.find()).as(rule).isTrue();
    Set<String> inCel =
        Arrays.stream(list.group(1).split(", "))
            .map(s -> s.substring(1, s.length() - 1))
            .collect(Collectors.toSet());
    assertThat(inCel).isEqualTo(HttpMethods.STANDARD);
  }

  @Test
  void extensionMethodsAreAdmittedOnlyWhenDeclared() {
    assertThat(HttpMethods.admitted("GET", null)).isTrue();
    assertThat(HttpMethods.admitted("PSOT", null)).isFalse();
    assertThat(HttpMethods.admitted("PURGE", List.of("PURGE"))).isTrue();
    assertThat(HttpMethods.admitted("get", List.of())).isFalse();
  }
}
