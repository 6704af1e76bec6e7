package io.tokengate.e2e.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives tests a {@link ControlPlane} (as a parameter): started once per test run, shared by every
 * class that uses it, stopped when the run ends.
 */
public final class ControlPlaneExtension implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(ControlPlaneExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == ControlPlane.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent("control-plane", key -> new Resource(start()), Resource.class)
        .controlPlane;
  }

  private static ControlPlane start() {
    try {
      Path base = Path.of(System.getProperty("tokengate.e2e.workdir", "target/e2e"));
      Files.createDirectories(base);
      return ControlPlane.start(Files.createTempDirectory(base.toAbsolutePath(), "controlplane-"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private record Resource(ControlPlane controlPlane)
      implements ExtensionContext.Store.CloseableResource {
    @Override
    public void close() {
      controlPlane.close();
    }
  }
}
