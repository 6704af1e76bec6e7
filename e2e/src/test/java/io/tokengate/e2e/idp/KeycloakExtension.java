package io.tokengate.e2e.idp;

import io.tokengate.e2e.support.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests a {@link Keycloak} (as a parameter): started once per test run and shared, since a
 * start costs most of a minute; stopped when the run ends. The parameter is handed out as soon as
 * the process is launched: call {@link Keycloak#awaitReady} before using it, so a suite can set up
 * other things while Keycloak boots.
 */
public final class KeycloakExtension implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(KeycloakExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == Keycloak.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent("keycloak", key -> new Resource(start()), Resource.class)
        .keycloak;
  }

  private static Keycloak start() {
    try {
      Path base = Repo.workDir();
      return Keycloak.start(Files.createTempDirectory(base, "keycloak-"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private record Resource(Keycloak keycloak) implements ExtensionContext.Store.CloseableResource {
    @Override
    public void close() {
      keycloak.close();
    }
  }
}
