package io.tokengate.testing;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;

/**
 * Arrows point one way: a module's packages (its root package counted as one, each direct
 * sub-package with everything below it as another) form no cycle. Every module's {@code
 * PackageCyclesTest} calls {@link #assertNone}; a failure names the cycle and the classes that make
 * it.
 */
public final class PackageCycles {
  private PackageCycles() {}

  /** Fails when the production classes under {@code rootPackage} have a package cycle. */
  public static void assertNone(String rootPackage) {
    JavaClasses classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(rootPackage);
    if (classes.isEmpty()) {
      throw new AssertionError("no classes found under " + rootPackage);
    }
    SlicesRuleDefinition.slices()
        .assignedFrom(new TopLevelPackages(rootPackage))
        .should()
        .beFreeOfCycles()
        .check(classes);
  }

  /** One slice per direct sub-package of the root, and one for the root package itself. */
  private record TopLevelPackages(String root) implements SliceAssignment {
    @Override
    public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
      String pkg = javaClass.getPackageName();
      if (pkg.equals(root)) {
        return SliceIdentifier.of(root);
      }
      if (!pkg.startsWith(root + ".")) {
        return SliceIdentifier.ignore();
      }
      String rest = pkg.substring(root.length() + 1);
      int dot = rest.indexOf('.');
      return SliceIdentifier.of(root + "." + (dot < 0 ? rest : rest.substring(0, dot)));
    }

    @Override
    public String getDescription() {
      return "the packages of " + root;
    }
  }
}
