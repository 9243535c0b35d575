package io.herd.config;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;

/**
 * The configuration file as its owner wrote it, and what {@code save} changes in it: the apps'
 * lines, and nothing else.
 *
 * <p>{@link #update} makes the file describe the running apps while touching as little as it
 * can: a line changes only where its value no longer gives the running value, a key the file
 * never set is added only where the running value differs from what the file gives without it
 * (its default), apps added at run time are appended, deleted apps' lines removed; comments,
 * blank lines, order, service keys and the way unchanged values are written all stay. So a
 * restart comes up as the service runs now, and after {@code scale hello 3} the diff is one line.
 *
 * <p>Each value is written by its {@link Settings declaration} ({@link HerdConfig#keysOf}), then
 * escaped as {@link Properties#load} reads it, so loading the file gives
 * back exactly the running configuration. {@link #write} replaces the file atomically (a
 * temporary file in the same directory, synced, renamed over it) and keeps its mode and owner,
 * as it does for the previous version it keeps as {@code <file>.bak}.
 */
public final class ConfigFile {
    /** The keys an app cannot be parsed without, whatever the defaults. */
    private static final List<String> REQUIRED = List.of(Settings.LISTEN.name(), Settings.JAR.name(), Settings.CLASSPATH.name(),
            Settings.MAIN.name());

    /** One logical line: a key's entry (its continuation lines included), or a comment or blank line (key null). */
    private static final class Entry {
        final String key;
        List<String> lines;

        Entry(String key, List<String> lines) {
            this.key = key;
            this.lines = lines;
        }
    }

    private final Path file;
    private final Path home;
    private final String newline;
    private final List<Entry> entries;

    private ConfigFile(Path file, Path home, String newline, List<Entry> entries) {
        this.file = file;
        this.home = home;
        this.newline = newline;
        this.entries = entries;
    }

    /** The file as it is now (empty when there is none); relative paths in it are taken from {@code home}. */
    public static ConfigFile read(Path file, Path home) throws IOException {
        String text = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        String newline = text.contains("\r\n") ? "\r\n" : "\n";
        return new ConfigFile(file, home, newline, parse(text));
    }

    /** The file's text split into entries, keys read exactly as {@link Properties#load} reads them. */
    private static List<Entry> parse(String text) {
        List<String> physical = text.isEmpty() ? List.of() : List.of(text.split("\r\n|\r|\n", -1));
        if (!physical.isEmpty() && physical.getLast().isEmpty()) physical = physical.subList(0, physical.size() - 1);
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < physical.size(); i++) {
            String stripped = physical.get(i).stripLeading();
            if (stripped.isEmpty() || stripped.startsWith("#") || stripped.startsWith("!")) {
                entries.add(new Entry(null, List.of(physical.get(i))));
                continue;
            }
            int first = i;
            while (continues(physical.get(i)) && i + 1 < physical.size()) i++;
            List<String> lines = physical.subList(first, i + 1);
            Properties one = load(String.join("\n", lines));
            entries.add(new Entry(one.stringPropertyNames().stream().findFirst().orElse(null), new ArrayList<>(lines)));
        }
        return entries;
    }

    /** A line ending in an odd number of backslashes goes on at the next. */
    private static boolean continues(String line) {
        int backslashes = 0;
        for (int i = line.length() - 1; i >= 0 && line.charAt(i) == '\\'; i--) backslashes++;
        return backslashes % 2 == 1;
    }

    private static Properties load(String text) {
        Properties properties = new Properties();
        try {
            properties.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) {
            throw new UncheckedIOException(new IOException("not a properties text: " + e.getMessage(), e));
        }
        return properties;
    }

    /** Every key and its value, as {@link HerdConfig#load} reads the file. */
    private Map<String, String> values() {
        Map<String, String> values = new HashMap<>();
        Properties all = load(text());
        for (String key : all.stringPropertyNames()) values.put(key, all.getProperty(key).trim());
        return values;
    }

    /**
     * Makes the apps' keys describe {@code running} exactly. Apps the file names that are neither
     * running nor in {@code keep} (stopped, say) lose their lines.
     */
    public void update(List<AppConfig> running, Set<String> keep) {
        for (AppConfig app : running) {
            if (app.instances() == 0) {
                // "instances = 0" means one per core: no line can say "none"
                throw new IllegalStateException("app " + app.name() + " runs no worker, which its configuration cannot say "
                        + "(instances = 0 means one per core): scale it up, or stop it, before saving");
            }
        }
        renameFormerKeys();
        Set<String> names = new LinkedHashSet<>(keep);
        for (AppConfig app : running) {
            names.add(app.name());
            describe(app);
        }
        for (String app : appsInFile()) {
            if (!names.contains(app)) entries.removeIf(entry -> entry.key != null && entry.key.startsWith(prefix(app)));
        }
    }

    /**
     * A line under a setting's former name ({@code app.web.reload.parallelism}) is rewritten in
     * place under its name, with the value it had; where the file sets the new name too, the old
     * line goes. So {@code save} writes only current names, and the warning on load stops.
     */
    private void renameFormerKeys() {
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            if (entry.key == null || !entry.key.startsWith("app.") || entry.key.indexOf('.', 4) < 0) continue;
            String app = entry.key.substring(4, entry.key.indexOf('.', 4));
            String name = entry.key.substring(entry.key.indexOf('.', 4) + 1);
            Setting<AppConfig, ?> setting = Settings.app(name) == null ? Settings.renamedFrom(name) : null;
            if (setting == null) continue;
            String current = setting.key(app);
            if (entries.stream().anyMatch(other -> current.equals(other.key))) {
                entries.remove(i--);
                continue;
            }
            String value = load(String.join("\n", entry.lines)).getProperty(entry.key).trim();
            entries.set(i, new Entry(current, List.of(escapeKey(current) + " = " + escapeValue(value))));
        }
    }

    private void describe(AppConfig app) {
        Map<String, String> wanted = HerdConfig.keysOf(app);
        Map<String, String> inFile = new LinkedHashMap<>();
        values().forEach((key, value) -> {
            if (key.startsWith(prefix(app.name()))) inFile.put(key, value);
        });
        boolean isNew = inFile.isEmpty();
        Map<String, String> start = new HashMap<>(inFile);
        for (String key : REQUIRED) {
            String full = prefix(app.name()) + key;
            if (!start.containsKey(full) && wanted.containsKey(full)) start.put(full, wanted.get(full));
        }
        Map<String, String> given = effective(app.name(), start);
        Set<String> keys = new LinkedHashSet<>(wanted.keySet());
        keys.addAll(given.keySet());
        if (isNew) appendBlank("# " + app.name() + ": added while herd ran, written by herd save");
        for (String key : keys) {
            boolean requiredButUnwritten = start.containsKey(key) && !inFile.containsKey(key);
            if (Objects.equals(wanted.get(key), given.get(key)) && !requiredButUnwritten) continue;
            if (wanted.containsKey(key)) set(app.name(), key, wanted.get(key));
            else entries.removeIf(entry -> key.equals(entry.key));
        }
        Map<String, String> now = new HashMap<>();
        values().forEach((key, value) -> {
            if (key.startsWith(prefix(app.name()))) now.put(key, value);
        });
        if (!effective(app.name(), now).equals(wanted)) {
            // The file's lines say something this editor cannot change line by line (it no longer
            // parses, say): the app's block is written anew, in full.
            entries.removeIf(entry -> entry.key != null && entry.key.startsWith(prefix(app.name())));
            appendBlank("# " + app.name() + ": written by herd save");
            wanted.forEach((key, value) -> set(app.name(), key, value));
        }
    }

    /** What {@code keys} configure once read: every key of the app, defaults included; empty when they do not parse. */
    private Map<String, String> effective(String app, Map<String, String> keys) {
        try {
            HerdConfig parsed = HerdConfig.parse(keys, file, home);
            return parsed.app(app) == null ? Map.of() : HerdConfig.keysOf(parsed.app(app));
        } catch (ConfigException e) {
            return Map.of();
        }
    }

    /** Sets {@code key}: its last line in the file is rewritten, or a line is added after the app's last one. */
    private void set(String app, String key, String value) {
        String line = escapeKey(key) + " = " + escapeValue(value);
        int last = -1;
        int lastOfApp = -1;
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            if (key.equals(entry.key)) last = i;
            if (entry.key != null && entry.key.startsWith(prefix(app))) lastOfApp = i;
        }
        if (last >= 0) entries.get(last).lines = List.of(line);
        else if (lastOfApp >= 0) entries.add(lastOfApp + 1, new Entry(key, List.of(line)));
        else entries.add(new Entry(key, List.of(line)));
    }

    private void appendBlank(String comment) {
        if (!entries.isEmpty() && !entries.getLast().lines.getLast().isBlank()) entries.add(new Entry(null, List.of("")));
        entries.add(new Entry(null, List.of(comment)));
    }

    private Set<String> appsInFile() {
        Set<String> apps = new LinkedHashSet<>();
        for (Entry entry : entries) {
            if (entry.key != null && entry.key.startsWith("app.") && entry.key.indexOf('.', 4) > 4) {
                apps.add(entry.key.substring(4, entry.key.indexOf('.', 4)));
            }
        }
        return apps;
    }

    private static String prefix(String app) {
        return "app." + app + ".";
    }

    /** The file's text as it stands. */
    public String text() {
        StringBuilder text = new StringBuilder();
        for (Entry entry : entries) {
            for (String line : entry.lines) text.append(line).append(newline);
        }
        return text.toString();
    }

    /** A key as {@link Properties#load} reads it back: separators, comment marks and backslashes escaped. */
    static String escapeKey(String key) {
        StringBuilder escaped = new StringBuilder();
        for (char c : key.toCharArray()) {
            if (" =:#!\\".indexOf(c) >= 0) escaped.append('\\');
            escaped.append(c);
        }
        return escaped.toString();
    }

    /**
     * A value as {@link Properties#load} reads it back: backslashes doubled, a leading blank
     * escaped (load would skip it), line breaks and other controls as escapes. Anything else,
     * non-ASCII included, is written as it is, in UTF-8, which herd reads the file as.
     */
    static String escapeValue(String value) {
        StringBuilder escaped = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> escaped.append("\\\\");
                case '\n' -> escaped.append("\\n");
                case '\r' -> escaped.append("\\r");
                case '\t' -> escaped.append("\\t");
                case '\f' -> escaped.append("\\f");
                case ' ' -> escaped.append(i == 0 ? "\\ " : " ");
                default -> {
                    if (Character.isISOControl(c)) escaped.append(String.format("\\u%04x", (int) c));
                    else escaped.append(c);
                }
            }
        }
        return escaped.toString();
    }

    /**
     * Replaces the file with this text, atomically, keeping the previous version as
     * {@code <file>.bak}; both keep the file's mode and owner. A symbolic link at the file's
     * path is followed: its target is what is replaced, and the link stays.
     */
    public void write() throws IOException {
        Path target = Files.exists(file) ? file.toRealPath() : file.toAbsolutePath();
        PosixFileAttributes attributes = Files.exists(target)
                ? Files.readAttributes(target, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS) : null;
        if (attributes != null) {
            replace(target.resolveSibling(target.getFileName() + ".bak"), Files.readAllBytes(target), attributes);
        }
        replace(target, text().getBytes(StandardCharsets.UTF_8), attributes);
    }

    /** Writes {@code bytes} to a temporary file beside {@code path}, syncs it, gives it {@code attributes}, and renames it over {@code path}. */
    private static void replace(Path path, byte[] bytes, PosixFileAttributes attributes) throws IOException {
        Path directory = path.getParent();
        // created 0600 and owned by this process: never readable by others, even for a moment
        Path temporary = Files.createTempFile(directory, "." + path.getFileName() + ".", ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) channel.write(buffer);
                channel.force(true);
            }
            if (attributes != null) {
                PosixFileAttributeView view = Files.getFileAttributeView(temporary, PosixFileAttributeView.class);
                if (!view.getOwner().equals(attributes.owner())) view.setOwner(attributes.owner());
                if (!view.readAttributes().group().equals(attributes.group())) view.setGroup(attributes.group());
                view.setPermissions(attributes.permissions());
            }
            Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true); // the rename itself survives a crash
        }
    }
}
