package io.herd.engine;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The service's AOT caches, in {@code var/aot/} under herd's home: one file per app and key,
 * {@code <app>-<key>.aot}, and while a worker trains, the files its JVM writes. Shared by every
 * app of the master (any thread): which keys are being trained, which caches the JVM refused.
 *
 * <p>A cache is code the workers run, so the directory is the service user's alone (0700), and
 * a directory anyone else could write to is not used. A trained cache is renamed into place in
 * one step: a worker never maps half a file. The newest {@link #KEPT} caches of each app are
 * kept (a rollback finds its cache again); older ones, and what killed trainings left, go.
 */
final class AotCaches {
    private static final System.Logger LOG = System.getLogger(AotCaches.class.getName());
    /** Caches kept per app: the one in use, and a couple to roll back to. */
    static final int KEPT = 3;
    /** How often a key's cache may be refused before herd stops training it (until the master restarts). */
    private static final int MOST_REFUSALS = 2;
    /** A file a killed training left is removed once untouched this long: its JDK child may still be writing it. */
    private static final Duration LEFTOVER_AGE = Duration.ofMinutes(1);
    /** What a training JVM or a JVM's AOT log leaves: {@code <app>-<key>.training-pid<N>.aot[.config]}, {@code <app>-<key>.use-<N>.log}. */
    private static final Pattern WORK_FILE = Pattern.compile("(.+)-[0-9a-f]{" + AotKey.LENGTH + "}\\.(?:training-pid(\\d+)\\.aot(?:\\.config)?|use-(\\d+)\\.log)");
    private static final Pattern CACHE_FILE = Pattern.compile("(.+)-[0-9a-f]{" + AotKey.LENGTH + "}\\.aot");

    private final Path dir;
    /** Cache files (by name) a worker is training now: one trainer per key at a time. */
    private final Set<String> training = new HashSet<>();
    /** Cache files (by name) the JVM refused, and how often. */
    private final Map<String, Integer> refusals = new HashMap<>();
    /** Why the directory cannot be used; null while it can. Said once. */
    private String unusable;

    AotCaches(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    Path dir() {
        return dir;
    }

    /**
     * Makes sure the directory is there and the service's own (made 0700 if missing).
     *
     * @return null when it can hold caches; else why not (logged once, as a WARNING)
     */
    synchronized String check() {
        if (unusable != null) return unusable;
        String problem = problem();
        if (problem != null) {
            unusable = problem;
            LOG.log(Level.WARNING, "{0}: {1}: workers start without AOT caches", dir, problem);
        }
        return problem;
    }

    private String problem() {
        String path = dir.toString();
        // %p would become the JVM's pid in -XX:AOTCache, and a quote would end -Xlog's file name.
        if (path.contains("%") || path.contains("\"")) return "the JVM cannot be given a path holding % or \"";
        try {
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectories(dir.getParent());
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return "not a directory (a link, say)";
            UserPrincipal self = serviceUser();
            if (!Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).equals(self)) return "not owned by the service's user";
            if (othersMayWrite(dir, LinkOption.NOFOLLOW_LINKS)) return "others may write to it (a cache is code the workers run): chmod go-w it";
            // Whoever may write to its parent could swap it for a directory of theirs.
            var parentOwner = Files.getOwner(dir.getParent());
            if (othersMayWrite(dir.getParent()) || !(parentOwner.equals(self) || parentOwner.getName().equals("root"))) {
                return "its directory " + dir.getParent() + " may be changed by another user";
            }
            if (!Files.isWritable(dir)) return "not writable by the service's user";
            return null;
        } catch (IOException | UnsupportedOperationException e) {
            return "cannot be made or checked: " + e;
        }
    }

    /**
     * The user this JVM runs as now: the owner of /proc/self (after jsvc drops root, user.name
     * still says root); where there is no /proc, the user it was started as.
     */
    private static UserPrincipal serviceUser() throws IOException {
        Path proc = Path.of("/proc/self");
        if (Files.exists(proc)) return Files.getOwner(proc);
        return FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name"));
    }

    private static boolean othersMayWrite(Path path, LinkOption... options) throws IOException {
        Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(path, options);
        return permissions.contains(PosixFilePermission.GROUP_WRITE) || permissions.contains(PosixFilePermission.OTHERS_WRITE);
    }

    /** Where the cache for {@code app} and {@code key} is kept. */
    Path cache(String app, String key) {
        return dir.resolve(app + "-" + key + ".aot");
    }

    /** What a training JVM is told to write: the JVM puts {@code pid<its pid>} for {@code %p}. */
    Path trainingOutput(String app, String key) {
        return dir.resolve(app + "-" + key + ".training-%p.aot");
    }

    /** What a training JVM of pid {@code pid} writes, given {@link #trainingOutput}. */
    static Path written(Path trainingOutput, long pid) {
        return trainingOutput.resolveSibling(trainingOutput.getFileName().toString().replace("%p", "pid" + pid));
    }

    /** Where a JVM started with the cache logs what it thinks of it (-Xlog puts the pid for {@code %p}). */
    Path useLog(String app, String key) {
        return dir.resolve(app + "-" + key + ".use-%p.log");
    }

    /**
     * Claims the training of {@code cache} for one worker.
     *
     * @return false when another worker trains it already, or the JVM refused it too often
     */
    synchronized boolean claimTraining(Path cache) {
        String name = cache.getFileName().toString();
        if (refusals.getOrDefault(name, 0) >= MOST_REFUSALS) return false;
        return training.add(name);
    }

    synchronized void releaseTraining(Path cache) {
        training.remove(cache.getFileName().toString());
    }

    /** How often the JVM refused {@code cache}, counting this time. */
    synchronized int refused(Path cache) {
        return refusals.merge(cache.getFileName().toString(), 1, Integer::sum);
    }

    /** True when {@code cache} will not be trained again: refused too often. */
    synchronized boolean givenUp(Path cache) {
        return refusals.getOrDefault(cache.getFileName().toString(), 0) >= MOST_REFUSALS;
    }

    /**
     * Moves what a training JVM wrote into place as {@code cache}, in one step, then removes the
     * app's older caches beyond {@link #KEPT}.
     */
    void adopt(Path written, Path cache, String app) throws IOException {
        try {
            Files.move(written, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException impossible) {
            Files.deleteIfExists(written); // same directory: cannot happen; never copy half a cache into place
            throw impossible;
        }
        Files.setLastModifiedTime(cache, FileTime.from(Instant.now())); // "newest" is when it was made
        prune(app);
    }

    /** Keeps {@code app}'s newest {@link #KEPT} caches, and removes what trainings killed midway left. */
    synchronized void prune(String app) {
        List<Path> caches = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, app + "-*")) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                Matcher cache = CACHE_FILE.matcher(name);
                Matcher work = WORK_FILE.matcher(name);
                if (work.matches() && work.group(1).equals(app)) removeIfLeftover(file, work);
                else if (cache.matches() && cache.group(1).equals(app)) caches.add(file);
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "could not list {0}: {1}", dir, e.toString());
            return;
        }
        caches.sort(Comparator.comparing(AotCaches::modified).reversed());
        for (Path old : caches.subList(Math.min(KEPT, caches.size()), caches.size())) delete(old);
    }

    private void removeIfLeftover(Path file, Matcher work) {
        String pid = work.group(2) != null ? work.group(2) : work.group(3);
        boolean running = ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
        if (!running && modified(file).toInstant().isBefore(Instant.now().minus(LEFTOVER_AGE))) delete(file);
    }

    private static FileTime modified(Path file) {
        try {
            return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException gone) {
            return FileTime.fromMillis(0);
        }
    }

    static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "could not remove {0}: {1}", file, e.toString());
        }
    }
}
