package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.Aot;
import io.herd.ipc.JdkSockets;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An app's AOT cache ({@code app.<name>.aot = auto}), as its workers start and stop: whether a
 * new worker starts with the cache, trains it, or runs without; and, once it is online or has
 * exited, what became of the cache. On the cluster's event thread (synchronized all the same).
 *
 * <ul>
 * <li>No cache for the app's key ({@link AotKey}) yet: one worker at a time trains it
 *     ({@code -XX:AOTCacheOutput}); its JVM writes it as it exits, and it is kept if herd had
 *     asked that worker to stop (a reload, a scale-down, a stop), not if it crashed. The others
 *     start without, so that not every worker pays the dump as it exits.
 * <li>A cache: new workers start with it ({@code -XX:AOTCache}), each logging to a file what the
 *     JVM thought of it. A cache the JVM refused is deleted (one WARNING), and trained anew; the
 *     worker serves regardless, without it.
 * <li>A class path with directories, or JVM options of the app's own that choose a cache or CDS
 *     archive: no cache, said once.
 * </ul>
 */
final class WorkerAot {
    private static final System.Logger LOG = System.getLogger(WorkerAot.class.getName());
    /**
     * How much longer than kill.timeout a training worker has to exit: its JVM writes the cache
     * first (JDK 25 starts a second JVM to assemble it). hello's took about 1 s on 2 busy cores;
     * an app with many more classes takes longer.
     */
    static final long DUMP_ALLOWANCE_MILLIS = 10_000;
    /** Exit code of a JVM killed by SIGKILL: its dump, if any, was cut short (its JDK child may still write it). */
    private static final int KILLED = 128 + 9;
    /** Options that choose the JVM's archive themselves: with these the app runs as it says, without herd's cache. */
    private static final List<String> OWN_ARCHIVE_OPTIONS = List.of("-XX:AOT", "-XX:SharedArchiveFile", "-XX:ArchiveClassesAtExit",
            "-XX:+AutoCreateSharedArchive", "-XX:SharedClassListFile", "-Xshare");
    /** Options that put classes somewhere else than the class path herd hashes. */
    private static final List<String> OTHER_CLASS_SOURCES = List.of("-cp", "-classpath", "--class-path", "-p", "--module-path",
            "--upgrade-module-path", "--patch-module", "-Xbootclasspath", "-javaagent", "-agentpath", "-agentlib", "-Djava.class.path",
            "-Djava.system.class.loader");
    /** The JVM's own AOT log lines that say only that something went wrong, not what. */
    private static final List<String> GENERIC_REFUSALS = List.of("An error has occurred while processing the AOT cache",
            "Loading static archive failed", "Unable to map shared spaces", "Unable to use AOT cache");

    /** What one worker does with the cache. */
    enum Mode { NONE, TRAIN, USE }

    /**
     * One worker's part: its JVM flags, and what to look at later (event thread).
     *
     * @param cache         the cache it trains or uses; null for none
     * @param cacheIdentity the used cache's file key as the worker started: only that file is deleted when refused
     * @param jvmFile       what its JVM writes: the training output or the AOT log, {@code %p} for its pid
     */
    static final class Run {
        static final Run NONE = new Run(Mode.NONE, List.of(), null, null, null, null);

        final Mode mode;
        final List<String> flags;
        final String key;
        final Path cache;
        final Object cacheIdentity;
        final Path jvmFile;
        /** Its AOT log was read already (it came online, and exits later). */
        boolean checked;

        Run(Mode mode, List<String> flags, String key, Path cache, Object cacheIdentity, Path jvmFile) {
            this.mode = mode;
            this.flags = flags;
            this.key = key;
            this.cache = cache;
            this.cacheIdentity = cacheIdentity;
            this.jvmFile = jvmFile;
        }
    }

    private final AppConfig config;
    private final AotCaches caches;
    /** The last thing said about the app's cache, so each is said once. */
    private String said;
    /** A trainer crashed: none trains again until a worker of the app has come online (a crash loop pays no dumps). */
    private boolean trainingSuspended;
    /** var/aot was tidied for this app: once as it starts, then after each training. */
    private boolean tidied;

    WorkerAot(AppConfig config, AotCaches caches) {
        this.config = config;
        this.caches = caches;
    }

    /** What the next worker does with the cache, and its flags; claims the training when it is to train. */
    synchronized Run plan() {
        if (config.aot() == Aot.OFF) return Run.NONE;
        String without = reasonToRunWithout();
        if (without != null) {
            say(Level.INFO, "{0}: workers start without an AOT cache: {1}", config.name(), without);
            return Run.NONE;
        }
        if (caches.check() != null) return Run.NONE;
        if (!tidied) {
            tidied = true;
            caches.prune(config.name()); // what a master killed midway left
        }
        List<Path> classPath = AotKey.classPath(entries());
        Path directory = classPath.stream().filter(Files::isDirectory).findFirst().orElse(null);
        if (directory != null) {
            say(Level.INFO, "{0}: workers start without an AOT cache: its class path holds the directory {1}, and the JDK caches "
                    + "classes from jars only (set {2} = off to say so)", config.name(), directory, "app." + config.name() + ".aot");
            return Run.NONE;
        }
        String key;
        try {
            key = key(classPath);
        } catch (IOException e) {
            say(Level.WARNING, "{0}: workers start without an AOT cache: cannot read its jars: {1}", config.name(), e.toString());
            return Run.NONE;
        }
        Path cache = caches.cache(config.name(), key);
        BasicFileAttributes existing = attributes(cache);
        if (existing != null && existing.isRegularFile()) {
            say(Level.INFO, "{0}: workers start with the AOT cache {1}", config.name(), cache);
            Path log = caches.useLog(config.name(), key);
            return new Run(Mode.USE, List.of("-XX:AOTCache=" + cache,
                    "-Xlog:aot*=warning,cds*=warning:file=\"" + log + "\":level:filecount=0"), key, cache, existing.fileKey(), log);
        }
        if (trainingSuspended || !caches.claimTraining(cache)) return Run.NONE;
        say(Level.INFO, "{0}: a worker trains the AOT cache {1}: its JVM writes it as herd stops that worker, and later workers "
                + "start with it", config.name(), cache);
        Path output = caches.trainingOutput(config.name(), key);
        return new Run(Mode.TRAIN, List.of("-XX:AOTCacheOutput=" + output), key, cache, null, output);
    }

    /** The worker's JVM could not be started: a training it claimed is free again. */
    synchronized void launchFailed(Run run) {
        if (run.mode == Mode.TRAIN) caches.releaseTraining(run.cache);
    }

    /** The worker {@code pid} is online: a cache it was given is looked at (refused: deleted); training may resume. */
    synchronized void online(Run run, long pid) {
        trainingSuspended = false;
        if (run.mode == Mode.USE) checkUse(run, pid);
    }

    /**
     * The worker {@code pid} exited with {@code exitCode}; {@code asked} when herd had asked it
     * to stop. A cache it trained is kept if it was asked, and its JVM finished writing it.
     */
    synchronized void exited(Run run, long pid, int exitCode, boolean asked) {
        switch (run.mode) {
            case USE -> {
                if (!run.checked) checkUse(run, pid);
            }
            case TRAIN -> {
                caches.releaseTraining(run.cache);
                finishTraining(run, pid, exitCode, asked);
                caches.prune(config.name());
            }
            case NONE -> {
            }
        }
    }

    private void finishTraining(Run run, long pid, int exitCode, boolean asked) {
        Path written = AotCaches.written(run.jvmFile, pid);
        Path configuration = written.resolveSibling(written.getFileName() + ".config");
        if (exitCode == KILLED) {
            // Killed, maybe while its JDK child was writing: what is left goes with a later prune.
            LOG.log(Level.INFO, "{0}: the worker (pid {1}) training the AOT cache was killed: no cache; a later worker trains it",
                    config.name(), Long.toString(pid));
            return;
        }
        AotCaches.delete(configuration); // left when the JDK's child failed
        if (!asked) {
            AotCaches.delete(written);
            trainingSuspended = true;
            LOG.log(Level.INFO, "{0}: the worker (pid {1}) training the AOT cache exited unasked: its cache is not kept; the next "
                    + "training waits until a worker has come online", config.name(), Long.toString(pid));
            return;
        }
        BasicFileAttributes output = attributes(written);
        if (output == null || output.size() == 0) {
            LOG.log(Level.WARNING, "{0}: the worker (pid {1}) training the AOT cache exited ({2}) without writing it (see its output); "
                    + "a later worker trains it", config.name(), Long.toString(pid), Integer.toString(exitCode));
            AotCaches.delete(written);
            return;
        }
        try {
            if (!run.key.equals(key(AotKey.classPath(entries())))) {
                AotCaches.delete(written);
                LOG.log(Level.INFO, "{0}: the app''s jars changed while a worker trained the AOT cache: not kept", config.name());
                return;
            }
            caches.adopt(written, run.cache, config.name());
            LOG.log(Level.INFO, "{0}: the AOT cache {1} ({2} MiB) was written as worker pid {3} stopped: later workers start with it",
                    config.name(), run.cache, Long.toString(output.size() >> 20), Long.toString(pid));
        } catch (IOException e) {
            AotCaches.delete(written);
            LOG.log(Level.WARNING, "{0}: could not keep the AOT cache {1}: {2}", config.name(), run.cache, e.toString());
        }
    }

    /** Reads what the JVM logged about the cache it was given: an error means it refused it, and runs without. */
    private void checkUse(Run run, long pid) {
        run.checked = true;
        Path log = run.jvmFile.resolveSibling(run.jvmFile.getFileName().toString().replace("%p", Long.toString(pid)));
        List<String> lines;
        try {
            lines = Files.readAllLines(log);
        } catch (IOException gone) {
            return; // the JVM exited before it logged, or never started
        } finally {
            AotCaches.delete(log);
        }
        if (lines.stream().noneMatch(line -> line.startsWith("[error"))) return;
        BasicFileAttributes now = attributes(run.cache);
        if (now == null || !Objects.equals(now.fileKey(), run.cacheIdentity)) return; // refused and deleted already
        AotCaches.delete(run.cache);
        int refusals = caches.refused(run.cache);
        LOG.log(Level.WARNING, "{0}: the JVM refused the AOT cache {1}: {2}; deleted it{3}", config.name(), run.cache, reason(lines),
                refusals == 1 ? ", and a later worker trains a new one" : "; it is not trained again until herd restarts");
    }

    /** The first line of the JVM's log that says what was wrong with the cache, without its level. */
    private static String reason(List<String> lines) {
        List<String> messages = new ArrayList<>();
        for (String line : lines) messages.add(line.replaceFirst("^\\[[a-z ]+\\]\\s*", "").strip());
        return messages.stream().filter(message -> GENERIC_REFUSALS.stream().noneMatch(message::startsWith)).findFirst()
                .orElse(messages.isEmpty() ? "no reason given" : messages.getLast());
    }

    /** Why this app's workers cannot have a cache herd makes, whatever the files say; null when they can. */
    private String reasonToRunWithout() {
        for (String option : config.jvmOptions()) {
            if (OWN_ARCHIVE_OPTIONS.stream().anyMatch(option::startsWith)) {
                return "its jvm.options choose an archive themselves (" + option + ")";
            }
            if (OTHER_CLASS_SOURCES.stream().anyMatch(prefix -> option.equals(prefix) || option.startsWith(prefix + "=")
                    || option.startsWith(prefix + ":") || (prefix.startsWith("-D") && option.startsWith(prefix)))) {
                return "its jvm.options load classes from elsewhere than jar and classpath (" + option + ")";
            }
        }
        return null;
    }

    /** The class path as herd gives it: the jar first, then the classpath entries. */
    private List<Path> entries() {
        List<Path> entries = new ArrayList<>();
        if (config.jar() != null) entries.add(config.jar());
        entries.addAll(config.classpath());
        return entries;
    }

    private String key(List<Path> classPath) throws IOException {
        List<String> options = new ArrayList<>(JdkSockets.JVM_FLAGS);
        options.addAll(config.jvmOptions()); // as configured: {port} differs between workers, the cache does not
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.putAll(config.env());
        String launch = config.mainClass() != null ? "-cp " + config.mainClass() : "-jar";
        return AotKey.of(options, launch, classPath, environment);
    }

    private static BasicFileAttributes attributes(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException absent) {
            return null;
        }
    }

    /** Logs {@code message} unless it is what was said last: once per app and state, not per worker. */
    private void say(Level level, String message, Object... values) {
        String text = java.text.MessageFormat.format(message, values);
        if (text.equals(said)) return;
        said = text;
        LOG.log(level, text);
    }
}
