package io.herd.engine;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * What an AOT cache is good for: a hash of the content of every jar a worker's JVM reads classes
 * from (the jars named, and those their manifests' {@code Class-Path} adds), the JDK
 * ({@code java.home}, {@code java.vm.version}) and the JVM options. A cache is only ever used
 * under the key it was trained with.
 *
 * <p>The key must say all of it: JDK 25 checks the JVM options and the JDK against a cache, but
 * not the jars — measured on 25.0.3, a jar rewritten in place (new size, new mtime, new classes)
 * still ran the cached, old classes. So a new release of an app's jar must get a new key, and
 * does: its bytes are hashed (once per jar version: a jar is hashed again only when its size,
 * mtime, ctime or inode changes).
 */
final class AotKey {
    /** Raised with the whole scheme: a key of an older herd never matches. */
    private static final String SCHEME = "herd-aot-1";
    /** Hex digits of the key in a cache's file name: 80 bits. */
    static final int LENGTH = 20;
    /** The environment variables the JVM (or its launcher) takes options from. */
    static final List<String> OPTION_VARIABLES = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS");

    /** What tells one version of a file from the next: its ctime too, which no copy or touch can set back. */
    private record Version(long size, long modifiedNanos, Object changed, Object fileKey) {
    }

    private record Digest(Version version, String sha256) {
    }

    /** How recent a change is too recent to trust a file's times to tell the next change from it. */
    private static final Duration RECENT = Duration.ofSeconds(2);
    /** Each jar's last digest, with the version of the file it was taken from. */
    private static final Map<Path, Digest> DIGESTS = new ConcurrentHashMap<>();

    private AotKey() {
    }

    /**
     * The class path a JVM started with {@code entries} reads: each entry, then what the
     * {@code Class-Path} attribute of a jar's manifest adds (relative to that jar), once each, in
     * the JVM's order. Entries that do not exist are kept: they count in the key as missing.
     */
    static List<Path> classPath(List<Path> entries) {
        Set<Path> seen = new LinkedHashSet<>();
        for (Path entry : entries) add(entry.toAbsolutePath().normalize(), seen);
        return List.copyOf(seen);
    }

    private static void add(Path entry, Set<Path> seen) {
        if (!seen.add(entry) || !Files.isRegularFile(entry)) return;
        for (Path more : manifestClassPath(entry)) add(more, seen);
    }

    /** The jar's {@code Class-Path}: space-separated URLs relative to the jar's directory; none when unreadable. */
    private static List<Path> manifestClassPath(Path jar) {
        List<Path> paths = new ArrayList<>();
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            String value = manifest == null ? null : manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
            if (value == null) return paths;
            URI base = jar.getParent().toUri();
            for (String url : value.trim().split("\\s+")) {
                if (url.isEmpty()) continue;
                try {
                    URI resolved = base.resolve(new URI(url));
                    if ("file".equals(resolved.getScheme())) paths.add(Path.of(resolved).normalize());
                } catch (URISyntaxException | IllegalArgumentException malformed) {
                    // the JVM ignores what it cannot read as a URL too
                }
            }
        } catch (IOException | SecurityException notAJar) {
            // not a jar the JVM could read either: its bytes still count in the key
        }
        return paths;
    }

    /**
     * The key for a JVM of this JDK started with {@code options} (herd's and the app's, as
     * configured), reading {@code classPath} ({@link #classPath}, every entry a file), running
     * {@code launch} ({@code -jar} or the main class), with {@code environment}'s option variables.
     *
     * @throws IOException when a jar cannot be read
     */
    static String of(List<String> options, String launch, List<Path> classPath, Map<String, String> environment) throws IOException {
        MessageDigest key = sha256();
        line(key, SCHEME);
        line(key, "java.home=" + System.getProperty("java.home"));
        line(key, "java.vm.version=" + System.getProperty("java.vm.version"));
        for (String option : options) line(key, "option=" + option);
        for (String variable : OPTION_VARIABLES) line(key, variable + "=" + Objects.toString(environment.get(variable), ""));
        line(key, "launch=" + launch);
        for (Path entry : classPath) line(key, "class-path=" + entry + "=" + (Files.isRegularFile(entry) ? digest(entry) : "missing"));
        return HexFormat.of().formatHex(key.digest()).substring(0, LENGTH);
    }

    /** The SHA-256 of the jar's bytes: the one taken last, unless the file changed since. */
    private static String digest(Path jar) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(jar, BasicFileAttributes.class);
        Version version = new Version(attributes.size(), attributes.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS),
                changeTime(jar), attributes.fileKey());
        Digest known = DIGESTS.get(jar);
        if (known != null && known.version().equals(version)) return known.sha256();
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(jar)) {
            byte[] buffer = new byte[64 * 1024];
            for (int read; (read = in.read(buffer)) > 0; ) digest.update(buffer, 0, read);
        }
        String sha256 = HexFormat.of().formatHex(digest.digest());
        // A file changed within the clock's last ticks could change again with the same times
        // (ctime moves in jiffies): such a digest is not remembered, as git re-reads "racily clean" files.
        if (!changedRecently(attributes, version)) DIGESTS.put(jar, new Digest(version, sha256));
        return sha256;
    }

    private static boolean changedRecently(BasicFileAttributes attributes, Version version) {
        FileTime changed = version.changed() instanceof FileTime ctime ? ctime : attributes.lastModifiedTime();
        return changed.toInstant().isAfter(Instant.now().minus(RECENT));
    }

    /** The file's ctime where the platform tells it (Linux does), else null: then size, mtime and inode must do. */
    private static Object changeTime(Path file) {
        try {
            return Files.getAttribute(file, "unix:ctime");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException unknown) {
            return null;
        }
    }

    /** Adds one item, its length first: no two lists of items hash alike, whatever they hold. */
    private static void line(MessageDigest digest, String line) {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        digest.update((bytes.length + ":").getBytes(StandardCharsets.US_ASCII));
        digest.update(bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
