package io.herd.service;

import io.herd.HerdWorker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;

/**
 * What an app gets from herd: the SDK, and nothing of the master. herd-sdk is a named module
 * that exports {@code io.herd} to everyone and its IPC wire to the master's runtime only, and an
 * app shaded with it (hello.jar) carries no master class.
 */
@Timeout(60)
class SdkBoundaryTest {
    private static final Path HELLO_JAR = Path.of("..", "examples", "hello", "target", "hello.jar").toAbsolutePath().normalize();
    /** Packages of the master's jars: none of them belongs in an app. */
    private static final List<String> MASTER_PACKAGES = List.of(
            "io/herd/engine/", "io/herd/config/", "io/herd/internal/", "io/herd/lifecycle/", "io/herd/mbeans/", "io/herd/service/");

    @Test
    void helloJarHoldsTheSdkAndNoClassOfTheMaster() throws IOException {
        try (JarFile hello = new JarFile(HELLO_JAR.toFile())) {
            List<String> entries = hello.stream().map(ZipEntry::getName).toList();
            assertThat(entries, hasItem("io/herd/HerdWorker.class"));
            assertThat(entries, hasItem("io/herd/examples/hello/Hello.class"));
            List<String> masterClasses = entries.stream()
                    .filter(name -> MASTER_PACKAGES.stream().anyMatch(name::startsWith))
                    .filter(name -> name.endsWith(".class"))
                    .toList();
            assertThat(masterClasses, is(empty()));
        }
    }

    @Test
    void theSdkIsANamedModuleThatExportsOnlyItsApi() throws URISyntaxException {
        Path sdk = Path.of(HerdWorker.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleFinder finder = ModuleFinder.of(sdk);
        // Resolved into a layer of its own, as it would be on an app's module path.
        Configuration resolved = ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(), Set.of("io.herd.sdk"));
        Module module = ModuleLayer.boot().defineModulesWithOneLoader(resolved, ClassLoader.getPlatformClassLoader())
                .findModule("io.herd.sdk").orElseThrow();
        ModuleDescriptor descriptor = module.getDescriptor();

        assertThat(descriptor.requires().stream().map(ModuleDescriptor.Requires::name).toList(), is(List.of("java.base")));
        assertThat(module.isExported("io.herd"), is(true));
        assertThat("the IPC wire is not for apps", module.isExported("io.herd.ipc"), is(false));
        assertThat(descriptor.exports().stream()
                        .filter(export -> export.source().equals("io.herd.ipc"))
                        .map(ModuleDescriptor.Exports::targets).toList(),
                is(List.of(Set.of("io.herd.runtime"))));
    }
}
