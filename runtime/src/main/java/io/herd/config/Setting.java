package io.herd.config;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * One configuration key, declared once: its name, its default, how its value is read (with its
 * bounds) and written back, where a loaded configuration keeps it, and one line saying what it
 * means. {@link Settings} lists them all; the parser, the unknown-key message, {@code save} and
 * the README's table of keys are made from that list.
 *
 * @param <C> what holds the value once loaded: {@link HerdConfig} for {@code herd.*} keys,
 *            {@link AppConfig} for {@code app.<name>.*} keys
 * @param <T> the value's type
 */
public final class Setting<C, T> {
    /** What {@code app.<name>.} keys are shown with, in messages and the README. */
    static final String ANY_APP = "<name>";

    private final String name;
    private final boolean perApp;
    private final String defaultValue;
    private final String shownDefault;
    private final Format<T> format;
    private final Function<C, T> value;
    private final String doc;
    /** The name it had before, which a file may still use; null when it never had another. */
    private final String formerName;

    private Setting(String name, boolean perApp, String defaultValue, String shownDefault, Format<T> format, Function<C, T> value,
                    String doc, String formerName) {
        this.name = name;
        this.perApp = perApp;
        this.defaultValue = defaultValue;
        this.shownDefault = shownDefault;
        this.format = format;
        this.value = value;
        this.doc = doc;
        this.formerName = formerName;
    }

    /**
     * A service setting, {@code herd.*}.
     *
     * @param key          the whole key
     * @param defaultValue what an absent key means, written as in the file; null when absent means "none"
     * @param value        where a loaded configuration keeps it; null there means "not set"
     */
    static <T> Setting<HerdConfig, T> service(String key, String defaultValue, Format<T> format, Function<HerdConfig, T> value,
                                              String doc) {
        return new Setting<>(key, false, defaultValue, null, format, value, doc, null);
    }

    /**
     * An app's setting, {@code app.<name>.*}.
     *
     * @param name         the key after {@code app.<name>.}
     * @param defaultValue what an absent key means, written as in the file; null when absent means "none"
     * @param value        where a loaded app keeps it; null there means "not set"
     */
    static <T> Setting<AppConfig, T> app(String name, String defaultValue, Format<T> format, Function<AppConfig, T> value, String doc) {
        return new Setting<>(name, true, defaultValue, null, format, value, doc, null);
    }

    /** This setting, with its default shown in the README as {@code shown} (a default worked out at start, say). */
    Setting<C, T> shownAs(String shown) {
        return new Setting<>(name, perApp, defaultValue, shown, format, value, doc, formerName);
    }

    /**
     * This setting, which was called {@code former} before (the part after {@code app.<name>.}
     * for an app's): a file that still says {@code former} loads, with a warning, and
     * {@code save} writes the new name.
     */
    Setting<C, T> formerly(String former) {
        return new Setting<>(name, perApp, defaultValue, shownDefault, format, value, doc, former);
    }

    /** The name it had before ({@link #name()}'s form), or null. */
    public String formerName() {
        return formerName;
    }

    /** True for an {@code app.<name>.*} key. */
    public boolean perApp() {
        return perApp;
    }

    /** The key after {@code app.<name>.} for an app's setting, the whole key for a service's. */
    public String name() {
        return name;
    }

    /** The key as the README and messages show it: {@code herd.stop.timeout}, {@code app.<name>.ready.timeout}. */
    public String key() {
        return perApp ? key(ANY_APP) : name;
    }

    /** The key for the app {@code app}: {@code app.web.ready.timeout}. Only for an app's setting. */
    public String key(String app) {
        if (!perApp) throw new IllegalStateException(name + " is not an app's setting");
        return "app." + app + "." + name;
    }

    /** What an absent key means, written as in the file; null when it means "none". */
    public String defaultValue() {
        return defaultValue;
    }

    /** The default as the README shows it. */
    public String shownDefault() {
        if (shownDefault != null) return shownDefault;
        return defaultValue == null ? "—" : "`" + defaultValue + "`";
    }

    /** The value {@code text} spells, bounds checked; throws {@link IllegalArgumentException} saying what is wrong. */
    public T read(String text, Path home) {
        return format.read(text, home);
    }

    /** The value {@code holder} has, as the file writes it; null when it has none (the key is then left out). */
    public String written(C holder) {
        T current = value.apply(holder);
        return current == null ? null : format.write(current);
    }

    /** The values it takes, in short: {@code 1ms to 1h}. */
    public String allowed() {
        return format.allowed();
    }

    /** What it means, in one line. */
    public String doc() {
        return doc;
    }

    @Override
    public String toString() {
        return key();
    }
}
