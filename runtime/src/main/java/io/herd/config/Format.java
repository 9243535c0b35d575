package io.herd.config;

import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How one kind of value is written in the configuration file, and read back with its bounds:
 * {@link #write} gives text that {@link #read} turns back into the same value.
 *
 * <p>{@link #read} throws {@link IllegalArgumentException} with a message that quotes the text
 * and says what was expected ("'0s' is not a duration from 1ms to 1h"); the parser adds the key
 * and the file.
 *
 * @param <T> the value's type
 */
public final class Format<T> {
    private final String allowed;
    private final BiFunction<String, Path, T> reader;
    private final Function<T, String> writer;

    private Format(String allowed, BiFunction<String, Path, T> reader, Function<T, String> writer) {
        this.allowed = allowed;
        this.reader = reader;
        this.writer = writer;
    }

    /** The value {@code text} spells; {@code home} is where a relative path points from. */
    public T read(String text, Path home) {
        return reader.apply(text, home);
    }

    /** {@code value} as the file writes it. */
    public String write(T value) {
        return writer.apply(value);
    }

    /** The values it takes, in short, for the README's table: {@code 1ms to 1h}, {@code `true` or `false`}. */
    public String allowed() {
        return allowed;
    }

    /** A whole number from {@code min} to {@code max}. */
    static Format<Integer> wholeNumber(int min, int max) {
        return new Format<>(min + " to " + max, (text, home) -> {
            try {
                int number = Integer.parseInt(text);
                if (number >= min && number <= max) return number;
            } catch (NumberFormatException tooLongOrNotANumber) {
                // said below, as a number out of bounds is
            }
            throw invalid(text, "a whole number from " + min + " to " + max);
        }, Object::toString);
    }

    /**
     * A reload surge: a count from 1 to {@code most}, or a percentage from 1% to 100% of the
     * app's instances ({@code 2}, {@code 25%}), as Kubernetes' maxSurge is written.
     */
    static Format<ReloadSurge> surge(int most) {
        Format<Integer> count = wholeNumber(1, most);
        Format<Integer> percentage = wholeNumber(1, 100);
        String rule = "a count from 1 to " + most + " or a percentage from 1% to 100% (such as 2 or 25%)";
        return new Format<>("1 to " + most + ", or 1% to 100%", (text, home) -> {
            try {
                return text.endsWith("%")
                        ? new ReloadSurge(percentage.read(text.substring(0, text.length() - 1).strip(), home), true)
                        : new ReloadSurge(count.read(text, home), false);
            } catch (IllegalArgumentException e) {
                throw invalid(text, rule);
            }
        }, ReloadSurge::toString);
    }

    /** A port: {@code 0} for any free one only when {@code min} is 0. */
    static Format<Integer> port(int min) {
        return wholeNumber(min, 65535);
    }

    /**
     * A duration from {@code min} to {@code max}: a whole number and a unit, {@code ms} (the
     * default), {@code s}, {@code m} or {@code h}. Written in the largest unit that keeps it exact.
     */
    static Format<Duration> duration(Duration min, Duration max) {
        Pattern syntax = Pattern.compile("(\\d{1,18})\\s*(ms|s|m|h)?");
        String range = writeDuration(min) + " to " + writeDuration(max);
        String rule = "a duration from " + range + " (such as 500ms, 10s, 2m or 1h)";
        return new Format<>(range, (text, home) -> {
            Matcher matcher = syntax.matcher(text);
            if (!matcher.matches()) throw invalid(text, rule);
            long unitMillis = millisOf(matcher.group(2) == null ? "ms" : matcher.group(2));
            long amount = Long.parseLong(matcher.group(1)); // at most 18 digits: fits
            if (amount > max.toMillis() / unitMillis) throw invalid(text, rule); // before multiplying: no overflow
            Duration duration = Duration.ofMillis(amount * unitMillis);
            if (duration.compareTo(min) < 0) throw invalid(text, rule);
            return duration;
        }, Format::writeDuration);
    }

    /**
     * A size in bytes, up to {@code max}: a whole number with {@code K}, {@code M} or {@code G}
     * (powers of 1024; an optional {@code B}; any case). Written in the largest unit that keeps it exact.
     */
    static Format<Long> size(long max) {
        Pattern syntax = Pattern.compile("(\\d{1,18})\\s*([KMG]?)B?", Pattern.CASE_INSENSITIVE);
        String range = "0 to " + writeSize(max);
        String rule = "a size from " + range + " (such as 512M, 1G or 800K)";
        return new Format<>(range, (text, home) -> {
            Matcher matcher = syntax.matcher(text);
            if (!matcher.matches()) throw invalid(text, rule);
            long unit = bytesOf(matcher.group(2));
            long amount = Long.parseLong(matcher.group(1)); // at most 18 digits: fits
            if (amount > max / unit) throw invalid(text, rule); // before multiplying: no overflow, never negative
            return amount * unit;
        }, Format::writeSize);
    }

    /** {@code true} or {@code false}, nothing else. */
    static Format<Boolean> bool() {
        return new Format<>("`true` or `false`", (text, home) -> switch (text) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("'" + text + "' is neither true nor false");
        }, Object::toString);
    }

    /** One of {@code type}'s constants, written in lower case with '-' for '_' ({@code round-robin}). */
    static <E extends Enum<E>> Format<E> choice(Class<E> type) {
        List<String> names = new ArrayList<>();
        for (E constant : type.getEnumConstants()) names.add(nameOf(constant));
        String rule = String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
        return new Format<>(String.join(", ", names.stream().map(name -> "`" + name + "`").toList()), (text, home) -> {
            for (E constant : type.getEnumConstants()) {
                if (nameOf(constant).equals(text)) return constant;
            }
            throw new IllegalArgumentException("'" + text + "' is not " + rule);
        }, Format::nameOf);
    }

    /** A constant as the configuration writes it: {@code ROUND_ROBIN} is {@code round-robin}. */
    static String nameOf(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** A path, relative to herd's home unless absolute; written absolute. Whether it exists is the parser's to check. */
    static Format<Path> path() {
        return new Format<>("a path", Format::readPath, Path::toString);
    }

    private static Path readPath(String text, Path home) {
        if (text.isEmpty()) throw new IllegalArgumentException("is empty: a path is needed");
        Path path = Path.of(text);
        return (path.isAbsolute() ? path : home.resolve(path)).normalize();
    }

    /** Paths separated by the platform's path separator (':'), each as {@link #path()} reads it. */
    static Format<List<Path>> classpath() {
        return new Format<>("paths separated by `" + File.pathSeparator + "`", (text, home) -> {
            List<Path> entries = new ArrayList<>();
            for (String entry : text.split(File.pathSeparator)) {
                if (!entry.isBlank()) entries.add(readPath(entry.trim(), home));
            }
            return entries;
        }, paths -> String.join(File.pathSeparator, paths.stream().map(Path::toString).toList()));
    }

    /** A host name or address that resolves now: what a listening socket binds to. */
    static Format<String> host() {
        return new Format<>("a host name or address that resolves", (text, home) -> {
            if (text.isEmpty()) throw new IllegalArgumentException("is empty: a host name or address is needed, such as 127.0.0.1");
            try {
                InetAddress.getByName(text);
                return text;
            } catch (UnknownHostException | SecurityException e) {
                throw new IllegalArgumentException("'" + text + "' is not a host name or address that resolves");
            }
        }, host -> host);
    }

    /**
     * Addresses to accept on: {@code host:port[, host:port...]}, {@code [::1]:8080} for IPv6, an
     * empty host for every interface. Written with each address's numbers.
     */
    static Format<List<InetSocketAddress>> addresses() {
        Format<Integer> port = port(0);
        return new Format<>("`host:port`, ...", (text, home) -> {
            if (text.isBlank()) throw new IllegalArgumentException("is empty: the address to accept on is needed, e.g. 127.0.0.1:8080");
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (String part : text.split(",")) {
                part = part.trim();
                int colon = part.lastIndexOf(':');
                if (colon < 0) throw new IllegalArgumentException("'" + part + "' is not host:port");
                String host = part.substring(0, colon).replace("[", "").replace("]", "");
                int number = port.read(part.substring(colon + 1), home);
                try {
                    addresses.add(new InetSocketAddress(InetAddress.getByName(host.isEmpty() ? "0.0.0.0" : host), number));
                } catch (UnknownHostException e) {
                    throw new IllegalArgumentException("unknown host '" + host + "'");
                }
            }
            return addresses;
        }, addresses -> String.join(", ", addresses.stream().map(address -> {
            String host = address.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
        }).toList()));
    }

    /**
     * One address to listen on, {@code host:port} ({@code [::1]:8081} for IPv6; an empty host for
     * every interface; port {@code 0} for any free one): {@link #addresses()}'s form, once.
     */
    static Format<InetSocketAddress> address() {
        Format<List<InetSocketAddress>> addresses = addresses();
        return new Format<>("`host:port`", (text, home) -> {
            List<InetSocketAddress> read = addresses.read(text, home);
            if (read.size() != 1) throw new IllegalArgumentException("'" + text + "' is more than one address: one host:port is needed");
            return read.getFirst();
        }, address -> addresses.write(List.of(address)));
    }

    /**
     * A Java binary class name, as the {@code java} launcher takes it: dotted identifiers
     * ({@code com.example.Main}, {@code com.example.Outer$Inner}), no keyword among them.
     */
    static Format<String> className() {
        Pattern identifier = Pattern.compile("\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*");
        Set<String> keywords = Set.of("abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
                "continue", "default", "do", "double", "else", "enum", "extends", "final", "finally", "float", "for", "goto", "if",
                "implements", "import", "instanceof", "int", "interface", "long", "native", "new", "package", "private", "protected",
                "public", "return", "short", "static", "strictfp", "super", "switch", "synchronized", "this", "throw", "throws",
                "transient", "try", "void", "volatile", "while", "true", "false", "null", "_");
        return new Format<>("a class name", (text, home) -> {
            for (String part : text.split("\\.", -1)) {
                if (!identifier.matcher(part).matches() || keywords.contains(part)) {
                    throw new IllegalArgumentException("'" + text + "' is not a Java class name (such as com.example.Main)");
                }
            }
            return text;
        }, name -> name);
    }

    /**
     * Words, as {@link Words} reads and writes them: separated by whitespace, a word holding
     * whitespace or quotes written in double quotes ({@code "-Dgreeting=hello world"}).
     */
    static Format<List<String>> words() {
        return new Format<>("words", (text, home) -> {
            try {
                return Words.split(text);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + ": words are separated by spaces; a word with spaces is written in double quotes");
            }
        }, Words::join);
    }

    /** An HTTP health check's path or URL ({@link HealthUrl#parse}); empty means no check (null). */
    static Format<HealthUrl> healthUrl() {
        return new Format<>("a path or an `http://` URL", (text, home) -> text.isEmpty() ? null : HealthUrl.parse(text),
                HealthUrl::toString);
    }

    /** Any text of at least {@code minLength} characters, a password's, say. */
    static Format<String> text(int minLength) {
        return new Format<>(minLength <= 1 ? "text" : minLength + " characters or more", (text, home) -> {
            if (text.length() >= minLength) return text;
            throw new IllegalArgumentException(minLength == 1 ? "is empty" : "is shorter than " + minLength + " characters");
        }, text -> text);
    }

    private static IllegalArgumentException invalid(String text, String rule) {
        return new IllegalArgumentException("'" + text + "' is not " + rule);
    }

    /** A duration's unit in milliseconds. */
    private static long millisOf(String unit) {
        return switch (unit) {
            case "h" -> 3_600_000;
            case "m" -> 60_000;
            case "s" -> 1_000;
            default -> 1;
        };
    }

    /** A duration in the largest unit that keeps it exact: {@code 30s}, {@code 1500ms}, {@code 0ms}. */
    private static String writeDuration(Duration duration) {
        long millis = duration.toMillis();
        for (String unit : List.of("h", "m", "s")) {
            if (millis != 0 && millis % millisOf(unit) == 0) return millis / millisOf(unit) + unit;
        }
        return millis + "ms";
    }

    /** A size's unit in bytes. */
    private static long bytesOf(String unit) {
        return switch (unit.toUpperCase(Locale.ROOT)) {
            case "G" -> 1L << 30;
            case "M" -> 1L << 20;
            case "K" -> 1L << 10;
            default -> 1;
        };
    }

    /** A size in the largest unit that keeps it exact: {@code 512M}, {@code 1536K}, {@code 0}. */
    private static String writeSize(long bytes) {
        for (String unit : List.of("G", "M", "K")) {
            if (bytes != 0 && bytes % bytesOf(unit) == 0) return bytes / bytesOf(unit) + unit;
        }
        return Long.toString(bytes);
    }
}
