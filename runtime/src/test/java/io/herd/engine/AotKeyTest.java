package io.herd.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * The AOT cache's key says everything the JVM does not check: JDK 25 runs a cache's classes even
 * from a jar rewritten in place, so a new release must get a new key (and so a cache of its own).
 */
class AotKeyTest {
    private static final List<String> OPTIONS = List.of("-Xmx64m");

    @TempDir
    Path dir;

    @Test
    void aJarRewrittenInPlaceGetsANewKeyEvenWithItsOldSizeAndTime() throws Exception {
        Path jar = jar("app.jar", "v1", null);
        String before = key(jar);
        FileTime time = Files.getLastModifiedTime(jar);
        jar("app.jar", "v2", null); // same length
        Files.setLastModifiedTime(jar, time);
        assertThat(key(jar), is(not(before)));
        jar("app.jar", "v1", null);
        Files.setLastModifiedTime(jar, time);
        assertThat("the old release's key again: its cache is found again", key(jar), is(before));
    }

    @Test
    void theJarsItsManifestAddsCountToo() throws Exception {
        Files.createDirectories(dir.resolve("lib"));
        Path library = jar("lib/library.jar", "v1", null);
        Path app = jar("app.jar", "main", "lib/library.jar");
        assertThat(AotKey.classPath(List.of(app)), contains(app, library));
        String before = key(app);
        jar("lib/library.jar", "v2", null);
        assertThat(key(app), is(not(before)));
    }

    @Test
    void theJvmOptionsTheLaunchAndTheOptionVariablesCount() throws Exception {
        Path jar = jar("app.jar", "v1", null);
        List<Path> classPath = AotKey.classPath(List.of(jar));
        String key = AotKey.of(OPTIONS, "-jar", classPath, Map.of());
        assertThat(AotKey.of(List.of("-Xmx65m"), "-jar", classPath, Map.of()), is(not(key)));
        assertThat(AotKey.of(OPTIONS, "-cp com.example.Main", classPath, Map.of()), is(not(key)));
        assertThat(AotKey.of(OPTIONS, "-jar", classPath, Map.of("JAVA_TOOL_OPTIONS", "-Xmx65m")), is(not(key)));
        assertThat("other variables do not", AotKey.of(OPTIONS, "-jar", classPath, Map.of("GREETING", "hello")), is(key));
        assertThat("a file name's worth of hex", key.matches("[0-9a-f]{" + AotKey.LENGTH + "}"), is(true));
    }

    @Test
    void aDirectoryOnTheClassPathIsKeptForTheCallerToRefuse() throws Exception {
        Path classes = Files.createDirectories(dir.resolve("classes"));
        assertThat(AotKey.classPath(List.of(classes, jar("app.jar", "v1", null))), hasSize(2));
    }

    private String key(Path jar) throws IOException {
        return AotKey.of(OPTIONS, "-jar", AotKey.classPath(List.of(jar)), Map.of());
    }

    /** A jar holding one entry with {@code content}, and a manifest with {@code classPath} when not null. */
    private Path jar(String name, String content, String classPath) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (classPath != null) manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath);
        Path jar = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream stream = new JarOutputStream(out, manifest)) {
            JarEntry entry = new JarEntry("release.txt");
            entry.setTime(0); // the same bytes for the same content
            stream.putNextEntry(entry);
            stream.write(content.getBytes(StandardCharsets.UTF_8));
            stream.closeEntry();
        }
        return jar;
    }
}
