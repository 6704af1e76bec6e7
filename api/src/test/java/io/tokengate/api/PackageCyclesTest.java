package io.tokengate.api;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import org.junit.jupiter.api.Test;

/**
 * The model's packages form no cycle: the kinds ({@code apipolicy}, {@code tokenissuer}) use {@code
 * v1alpha1}'s shared types, and only {@code v1alpha1.yaml} reads and writes the kinds. (The other
 * modules use {@code testing/}'s {@code PackageCycles}; the model cannot, since that module builds
 * on it.)
 */
class PackageCyclesTest {
  @Test
  void thePackagesFormNoCycle() {
    SlicesRuleDefinition.slices()
        .matching("io.tokengate.api.(**)")
        .should()
        .beFreeOfCycles()
        .check(
            new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
                .importPackages("io.tokengate.api"));
  }
}
