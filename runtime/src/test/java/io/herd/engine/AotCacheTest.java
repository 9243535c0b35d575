package io.herd.engine;

import io.herd.HerdWorker;
import io.herd.config.HerdConfig;
import io.herd.testapp.Reply;
import io.herd.testapp.WhoAmI;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code app.<name>.aot = auto}: herd trains a JDK AOT cache from a worker's own run, keeps it
 * once that worker is stopped, and starts later workers with it; a cache the JVM refuses is
 * deleted and said, and the worker serves all the same. The JVM itself is the witness: each
 * worker logs where it loaded its classes from ({@code -Xlog:class+load}), and a class from the
 * cache is one "source: shared objects file".
 */
class AotCacheTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String MAIN_CLASS_FROM_CACHE = WhoAmI.class.getName() + " source: shared objects file";

    @Test
    void aWorkerStoppedByHerdLeavesACacheThatLaterWorkersStartWith() throws Exception {
        Path home = Files.createTempDirectory("herd-aot-");
        try (LogCapture aotLog = LogCapture.of(WorkerAot.class); Running herd = new Running(config(home, Map.of()))) {
            long trainer = herd.awaitOnlinePids(1).getFirst();
            assertThat("the first worker trains", commandLine(trainer), hasItem(startsWith("-XX:AOTCacheOutput=")));
            assertThat("no cache before it stops", caches(home), empty());

            assertThat(herd.cluster().gracefulReload().succeeded(), is(true)); // the trainer is stopped: its JVM writes the cache
            Path cache = Await.until("the trained cache kept", () -> caches(home), found -> found.size() == 1, LIMIT).getFirst();
            assertThat("nothing of the training is left", workFiles(home), empty());

            assertThat(herd.cluster().scale(2).succeeded(), is(true));
            long user = herd.awaitOnlinePids(2).getLast();
            assertThat(commandLine(user), hasItem("-XX:AOTCache=" + cache));
            assertThat("the JVM loaded the app's main class from the cache", classLoads(home, user), hasItem(containsString(MAIN_CLASS_FROM_CACHE)));
            assertThat(Reply.ask(herd.port()).pid() > 0, is(true));
            assertThat(aotLog.warnings(), empty());
        }
    }

    @Test
    void aCacheTheJvmRefusesIsDeletedAndSaidWhileTheWorkerServesWithout() throws Exception {
        Path home = Files.createTempDirectory("herd-aot-");
        HerdConfig config = config(home, Map.of());
        Path cache;
        try (Running herd = new Running(config)) {
            herd.awaitOnlinePids(1);
        } // stopped: the trainer wrote the cache
        cache = Await.until("the trained cache kept", () -> caches(home), found -> found.size() == 1, LIMIT).getFirst();
        byte[] whole = Files.readAllBytes(cache);
        Files.write(cache, java.util.Arrays.copyOf(whole, whole.length / 2)); // half written: what a crash mid-copy would leave

        try (LogCapture aotLog = LogCapture.of(WorkerAot.class); Running herd = new Running(config)) {
            long worker = herd.awaitOnlinePids(1).getFirst();
            assertThat(commandLine(worker), hasItem("-XX:AOTCache=" + cache));
            Await.until("the refused cache deleted", () -> !Files.exists(cache), LIMIT);
            assertThat(aotLog.warnings(), hasSize(1));
            assertThat(aotLog.warnings().getFirst(), containsString("whoami: the JVM refused the AOT cache " + cache + ": The AOT cache has been truncated"));
            assertThat("the worker serves", Reply.ask(herd.port()).pid(), is(worker));
            assertThat("its classes came from its jars", classLoads(home, worker), not(hasItem(containsString(MAIN_CLASS_FROM_CACHE))));
        }
    }

    @Test
    void withAotOffOrClassDirectoriesAWorkerGetsNoAotFlag() throws Exception {
        Path home = Files.createTempDirectory("herd-aot-");
        String directories = TestCluster.location(WhoAmI.class) + File.pathSeparator + TestCluster.location(HerdWorker.class);
        for (Map<String, String> settings : List.of(Map.of("aot", "off"), Map.of("classpath", directories))) {
            try (Running herd = new Running(config(home, settings))) {
                long worker = herd.awaitOnlinePids(1).getFirst();
                assertThat(settings + ": no AOT flag", commandLine(worker), everyItem(not(containsString("AOT"))));
            }
            assertThat(settings + ": nothing in var/aot", Files.exists(home.resolve("var/aot")) ? files(home.resolve("var/aot")) : List.of(), empty());
        }
    }

    /** WhoAmI from jars (the JDK caches classes from jars only), each JVM logging its class loads to a file of its pid. */
    private static HerdConfig config(Path home, Map<String, String> settings) throws Exception {
        Path jars = Files.createDirectories(home.resolve("jars"));
        Path app = jarOf(Path.of(TestCluster.location(WhoAmI.class)), "io/herd/testapp/", jars.resolve("whoami.jar"));
        Path sdk = jarOf(Path.of(TestCluster.location(HerdWorker.class)), "", jars.resolve("herd-sdk.jar"));
        Files.createDirectories(home.resolve("class-loads"));
        Map<String, String> values = new HashMap<>(Map.of(
                // A stopping worker may take its time: its JVM writes the cache first (seconds, on busy cores).
                "herd.stop.timeout", "60s", "kill.timeout", "60s",
                "classpath", app + File.pathSeparator + sdk,
                "jvm.options", "-XX:+UseSerialGC -Xmx32m -XX:TieredStopAtLevel=1 -Xlog:class+load=info:file=" + home.resolve("class-loads") + "/%p.log"));
        values.putAll(settings);
        HerdConfig made = TestCluster.config("whoami", WhoAmI.class, 1, values);
        return HerdConfig.parse(keysOf(made), made.source(), home); // under this home, so that runs share var/aot
    }

    private static Map<String, String> keysOf(HerdConfig config) {
        Map<String, String> keys = new HashMap<>(config.serviceKeys());
        config.apps().forEach(app -> keys.putAll(HerdConfig.keysOf(app)));
        return keys;
    }

    /** {@code source} (a jar, or a class directory) as a jar at {@code target}, with only the classes under {@code prefix}. */
    private static Path jarOf(Path source, String prefix, Path target) throws IOException {
        if (Files.exists(target)) return target;
        if (Files.isRegularFile(source)) return Files.copy(source, target);
        try (OutputStream out = Files.newOutputStream(target); JarOutputStream jar = new JarOutputStream(out);
             Stream<Path> files = Files.walk(source)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                String name = source.relativize(file).toString().replace(File.separatorChar, '/');
                if (!name.startsWith(prefix) || name.equals("module-info.class")) continue;
                jar.putNextEntry(new JarEntry(name));
                Files.copy(file, jar);
                jar.closeEntry();
            }
        }
        return target;
    }

    /** The caches in var/aot: {@code <app>-<key>.aot}. */
    private static List<Path> caches(Path home) throws IOException {
        return files(home.resolve("var/aot")).stream().filter(file -> file.getFileName().toString().matches("whoami-[0-9a-f]+\\.aot")).toList();
    }

    /** What trainings and checks write beside the caches. */
    private static List<Path> workFiles(Path home) throws IOException {
        return files(home.resolve("var/aot")).stream().filter(file -> !file.getFileName().toString().matches("whoami-[0-9a-f]+\\.aot")).toList();
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }

    /** The worker's command line, as the kernel has it. */
    private static List<String> commandLine(long pid) throws IOException {
        return List.of(Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"), StandardCharsets.UTF_8).split("\0"));
    }

    /** What the worker's JVM logged of its class loads. */
    private static List<String> classLoads(Path home, long pid) throws IOException {
        return Files.readAllLines(home.resolve("class-loads").resolve(pid + ".log"));
    }

    /** A master of its own for {@code config}; closing it stops it and checks no worker JVM is left. */
    private static final class Running implements AutoCloseable {
        private final Master master;

        Running(HerdConfig config) throws Exception {
            master = new Master(config);
            master.start();
        }

        Cluster cluster() {
            return master.cluster("whoami");
        }

        int port() {
            return master.addresses("whoami").getFirst().getPort();
        }

        /** The pids of the workers once exactly {@code count} are online, by instance. */
        List<Long> awaitOnlinePids(int count) throws InterruptedException {
            ClusterInfo info = Await.until(count + " workers online", cluster()::info,
                    seen -> seen.online() == count && seen.workers().stream().filter(w -> w.state().equals("online")).count() == count, LIMIT);
            return info.workers().stream().filter(w -> w.state().equals("online")).map(WorkerInfo::pid).toList();
        }

        @Override
        public void close() throws Exception {
            master.stop();
            assertThat("worker JVMs left after stop", ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList(), empty());
        }
    }
}
