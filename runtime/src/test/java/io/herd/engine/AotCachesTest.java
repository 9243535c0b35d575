package io.herd.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

/** var/aot/: the service's own, caches moved in whole, the newest few kept, what killed trainings left removed. */
class AotCachesTest {
    private static final String KEY = "0123456789abcdef0123";

    @TempDir
    Path home;

    @Test
    void theDirectoryIsMadeTheServicesAloneAndRefusedWhenOthersMayWriteToIt() throws Exception {
        AotCaches caches = new AotCaches(home.resolve("var/aot"));
        assertThat(caches.check(), is(nullValue()));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(caches.dir())), is("rwx------"));

        Path shared = Files.createDirectories(home.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThat(new AotCaches(shared).check(), containsString("others may write to it"));
    }

    @Test
    void anAppKeepsItsNewestCachesAndLosesWhatDeadTrainingsLeft() throws Exception {
        AotCaches caches = new AotCaches(home.resolve("var/aot"));
        caches.check();
        Instant now = Instant.now();
        for (int age = 1; age <= 5; age++) file("web-" + key(age) + ".aot", now.minus(Duration.ofHours(age)));
        file("web-2-" + key(9) + ".aot", now.minus(Duration.ofDays(1))); // another app's
        long dead = deadPid();
        file("web-" + KEY + ".training-pid" + dead + ".aot.config", now.minus(Duration.ofMinutes(5)));
        file("web-" + KEY + ".use-" + dead + ".log", now.minus(Duration.ofMinutes(5)));
        file("web-" + KEY + ".training-pid" + ProcessHandle.current().pid() + ".aot.config", now.minus(Duration.ofMinutes(5))); // alive
        file("web-" + KEY + ".use-" + dead + "0.log", now); // just written: its JVM's child may still be at it

        caches.prune("web");

        assertThat(names(caches.dir()), containsInAnyOrder("web-" + key(1) + ".aot", "web-" + key(2) + ".aot", "web-" + key(3) + ".aot",
                "web-2-" + key(9) + ".aot", "web-" + KEY + ".training-pid" + ProcessHandle.current().pid() + ".aot.config",
                "web-" + KEY + ".use-" + dead + "0.log"));
    }

    @Test
    void aTrainedCacheMovesInWholeAndOneWorkerTrainsAKeyAtATime() throws Exception {
        AotCaches caches = new AotCaches(home.resolve("var/aot"));
        caches.check();
        Path cache = caches.cache("web", KEY);
        assertThat(caches.claimTraining(cache), is(true));
        assertThat("a second trainer of the same key", caches.claimTraining(cache), is(false));
        Path written = AotCaches.written(caches.trainingOutput("web", KEY), 42);
        Files.writeString(written, "a cache");
        caches.adopt(written, cache, "web");
        assertThat(Files.readString(cache), is("a cache"));
        assertThat(Files.exists(written), is(false));
        caches.releaseTraining(cache);
        assertThat(caches.claimTraining(cache), is(true));
    }

    private static String key(int n) {
        return String.format("%020x", n);
    }

    private void file(String name, Instant modified) throws IOException {
        Path file = Files.writeString(home.resolve("var/aot").resolve(name), name);
        Files.setLastModifiedTime(file, FileTime.from(modified));
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(file -> file.getFileName().toString()).toList();
        }
    }

    /** A pid no process has now. */
    private static long deadPid() {
        long pid = 4_000_000;
        while (ProcessHandle.of(pid).isPresent()) pid++;
        return pid;
    }
}
