package io.tokengate.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.operator.testing.TestApiServer;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The README's "Conditions and what to do" table against the code: every reason it names is a
 * {@link Reasons} constant and every constant is in it; every condition it names belongs to the
 * kind of its row, and every condition of each kind is in it; and every reason constant is set
 * somewhere in the operator's sources, so the table cannot describe a reason nothing ever writes.
 */
class ConditionsTableTest {
  private static final String HEADER = "| resource | condition | reason | meaning | what to do |";
  private static final Map<String, Set<String>> TYPES_BY_KIND =
      Map.of(
          "TokenIssuer",
          Set.of(Conditions.READY, Conditions.DISCOVERY_SUCCEEDED, Conditions.KEYS_LOADED),
          "ApiPolicy",
          Set.of(
              Conditions.READY,
              Conditions.ISSUER_RESOLVED,
              Conditions.CONFLICT,
              Conditions.BYPASS_RISK,
              Conditions.PROTECTED));
  private static final Pattern BACKTICKED = Pattern.compile("`([^`]+)`");

  private record Row(String kind, List<String> types, List<String> reasons) {}

  private static List<Row> rows;

  @BeforeAll
  static void readTable() throws IOException {
    List<String> lines = Files.readAllLines(TestApiServer.repositoryRoot().resolve("README.md"));
    int start = lines.indexOf(HEADER);
    assertThat(start).as("README.md has the conditions table (%s)", HEADER).isNotNegative();
    rows = new ArrayList<>();
    for (String line : lines.subList(start + 2, lines.size())) {
      if (!line.startsWith("|")) {
        break;
      }
      String[] cells = line.split("\\|");
      List<String> types =
          Arrays.stream(cells[2].split(","))
              .map(c -> c.trim().replaceFirst("=(True|False|Unknown)$", ""))
              .toList();
      List<String> reasons = new ArrayList<>();
      Matcher m = BACKTICKED.matcher(cells[3]);
      while (m.find()) {
        reasons.add(m.group(1));
      }
      assertThat(reasons).as("row without a reason: %s", line).isNotEmpty();
      rows.add(new Row(cells[1].trim(), types, reasons));
    }
    assertThat(rows).isNotEmpty();
  }

  @Test
  void everyReasonInTheTableIsAConstantAndEveryConstantIsInTheTable() {
    Set<String> documented =
        rows.stream()
            .flatMap(r -> r.reasons().stream())
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(documented)
        .as("reasons in README.md's conditions table vs Conditions.Reasons")
        .containsExactlyInAnyOrderElementsOf(reasonConstants().values());
  }

  @Test
  void everyConditionInTheTableBelongsToItsKindAndEveryConditionIsInTheTable() {
    Map<String, Set<String>> documented = new TreeMap<>();
    for (Row row : rows) {
      assertThat(TYPES_BY_KIND).as("resource column").containsKey(row.kind());
      assertThat(TYPES_BY_KIND.get(row.kind()))
          .as("conditions of %s", row.kind())
          .containsAll(row.types());
      documented.computeIfAbsent(row.kind(), k -> new TreeSet<>()).addAll(row.types());
    }
    TYPES_BY_KIND.forEach(
        (kind, types) ->
            assertThat(documented.get(kind))
                .as("conditions of %s in README.md", kind)
                .containsExactlyInAnyOrderElementsOf(types));
  }

  @Test
  void everyReasonConstantIsSetByTheOperator() throws IOException {
    String sources;
    try (Stream<Path> files = Files.walk(Paths.get("src/main/java"))) {
      sources =
          files
              .filter(p -> p.toString().endsWith(".java"))
              .map(
                  p -> {
                    try {
                      return Files.readString(p);
                    } catch (IOException e) {
                      throw new java.io.UncheckedIOException(e);
                    }
                  })
              .collect(Collectors.joining("\n"));
    }
    reasonConstants()
        .forEach(
            (field, value) ->
                assertThat(sources)
                    .as("Reasons.%s (%s) is never used by the operator: remove it", field, value)
                    .containsPattern("Reasons\\." + field + "\\b"));
  }

  private static Map<String, String> reasonConstants() {
    Map<String, String> out = new TreeMap<>();
    for (Field f : Reasons.class.getDeclaredFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        try {
          out.put(f.getName(), (String) f.get(null));
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return out;
  }
}
