package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * bin/herd's AOT caches for its own JVMs, on the packaged service (so: after package): the
 * master's is recorded by a run, assembled at the next start and used by the one after; the CLI's
 * is made in the background by a read verb, used by the next ones, and one the JVM refuses is
 * deleted and made again, the commands working all along. bin/herd runs from a home of its own
 * here (its scripts copied, the build linked), so that the caches land under that home's var/aot.
 */
@Timeout(300)
class HerdScriptAotIT {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    @TempDir
    Path home;
    private ServiceProcess service;
    private List<String> endpoint;

    private record Result(int exit, String out, String err) {
    }

    @BeforeEach
    void install() throws Exception {
        Files.createDirectories(home.resolve("bin"));
        Files.createDirectories(home.resolve("conf"));
        Files.createDirectories(home.resolve("service"));
        Files.createDirectories(home.resolve("examples/hello"));
        for (String file : List.of("bin/herd", "bin/java25.sh", "conf/jvm.options", "conf/log4j2.xml")) {
            Files.copy(REPO.resolve(file), home.resolve(file));
        }
        Files.createSymbolicLink(home.resolve("service/target"), REPO.resolve("service/target"));
        Files.createSymbolicLink(home.resolve("examples/hello/target"), REPO.resolve("examples/hello/target"));
    }

    /** The service for the CLI to talk to, started as the tests start it (not by bin/herd). */
    private void startService() throws Exception {
        service = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 1, ""));
        endpoint = List.of("--url", service.jolokiaUrl(), "--password-file", home.resolve("var/jolokia.password").toString());
        service.awaitOutput("-> online", 1);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (service != null) service.close();
    }

    private Result herd(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(home.resolve("bin/herd").toString()));
        command.addAll(List.of(args));
        command.addAll(endpoint);
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(env);
        Process process = builder.start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
        String out = readAll(process.getInputStream());
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("herd " + String.join(" ", args) + " did not finish: " + out);
        }
        return new Result(process.exitValue(), out, err.join());
    }

    private static String readAll(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(lost: " + e + ")";
        }
    }

    private Result list() throws IOException, InterruptedException {
        Result list = herd(Map.of(), "list");
        assertThat(list.err(), list.exit(), is(0));
        assertThat("the table, and nothing of the JVM's", list.out(), containsString("APP "));
        assertThat(list.out(), not(containsString("aot")));
        return list;
    }

    /** The files under var/aot named {@code regex}. */
    private List<Path> aotFiles(String regex) throws IOException {
        Path dir = home.resolve("var/aot");
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(file -> file.getFileName().toString().matches(regex)).toList();
        }
    }

    /**
     * {@code bin/herd run} on a hello config until its worker is online, then
     * SIGTERM; returns the JVM's command line. bin/herd execs the JVM, so the process is the master.
     *
     * @param prefix      the command bin/herd runs under ({@code bash -c ...}), or none
     * @param environment added to the test's own
     */
    private List<String> runServiceOnce(List<String> prefix, Map<String, String> environment) throws Exception {
        Path config = ServiceProcess.helloConfig(home, 1, "");
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of(home.resolve("bin/herd").toString(), "run", config.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(home.resolve("run.log").toFile());
        builder.environment().putAll(environment);
        Process herd = builder.start();
        try {
            Await.until("the service's worker online", () -> Files.readString(home.resolve("run.log")).contains("-> online"),
                    Duration.ofSeconds(120));
            List<String> arguments = List.of(herd.info().arguments().orElseThrow());
            herd.destroy(); // SIGTERM
            assertThat(herd.waitFor(120, TimeUnit.SECONDS), is(true));
            assertThat(Files.readString(home.resolve("run.log")), herd.exitValue(), is(0));
            return arguments;
        } finally {
            herd.descendants().forEach(ProcessHandle::destroyForcibly);
            herd.destroyForcibly();
        }
    }

    /**
     * A JAVA_HOME whose bin/java, when it is the background JVM that assembles the master's cache,
     * writes down the environment and descriptors it was started with (into created-jvm.txt), then
     * runs the test's own java.
     */
    private Path javaHomeThatWatchesTheCacheAssembly() throws IOException {
        Path javaHome = Files.createDirectories(home.resolve("watched-jdk/bin")).getParent();
        Path realJava = Path.of(System.getProperty("java.home"), "bin", "java");
        Files.writeString(javaHome.resolve("release"), "JAVA_VERSION=\"" + Runtime.version().feature() + "\"\n");
        Path report = home.resolve("created-jvm.txt");
        Path java = Files.writeString(javaHome.resolve("bin/java"), """
                #!/bin/bash
                case " $* " in
                  *" -XX:AOTMode=create "*)
                    { tr '\\0' '\\n' < /proc/$$/environ; echo "-- descriptors"; ls -l /proc/$$/fd/; } > "%1$s.tmp"
                    mv "%1$s.tmp" "%1$s" ;;
                esac
                exec "%2$s" "$@"
                """.formatted(report, realJava));
        if (!java.toFile().setExecutable(true)) throw new IOException("cannot make " + java + " executable");
        return javaHome;
    }

    @Test
    void aServiceRunRecordsTheMasterCacheTheNextStartAssemblesItAndTheOneAfterUsesIt() throws Exception {
        Map<String, String> watched = Map.of("JAVA_HOME", javaHomeThatWatchesTheCacheAssembly().toString());
        List<String> recording = runServiceOnce(List.of(), watched);
        assertThat(recording, hasItem(startsWith("-XX:AOTConfiguration=")));
        assertThat("the classes it used, recorded as it stopped", aotFiles("master-[0-9a-f]{16}\\.aot\\.config"), hasSize(1));

        // Started as systemd starts it, with its variables and a socket-activation descriptor (3,
        // a marker file here): the background JVM that assembles the cache may inherit none of them.
        Path marker = Files.writeString(home.resolve("inherited-descriptor"), "fd 3");
        Map<String, String> asBySystemd = new HashMap<>(watched);
        asBySystemd.putAll(Map.of("NOTIFY_SOCKET", "@herd-aot-test-nobody-listens", "WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "1",
                "LISTEN_FDS", "1", "LISTEN_PID", "1", "LISTEN_FDNAMES", "hello"));
        List<String> assembling = runServiceOnce(List.of("/bin/bash", "-c", "exec 3<\"$0\"; exec \"$@\"", marker.toString()), asBySystemd);
        assertThat(assembling, not(hasItem(startsWith("-XX:AOT"))));
        Await.until("the master's AOT cache assembled in the background", () -> aotFiles("master-[0-9a-f]{16}\\.aot"),
                caches -> !caches.isEmpty(), Duration.ofSeconds(120));
        String created = Files.readString(home.resolve("created-jvm.txt"));
        assertThat("what the watching java wrote", created, containsString("-- descriptors"));
        for (String variable : List.of("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")) {
            assertThat("the background JVM's environment", created.lines().toList(), not(hasItem(startsWith(variable + "="))));
        }
        assertThat("the background JVM's descriptors", created, not(containsString(marker.toString())));

        Path cache = aotFiles("master-[0-9a-f]{16}\\.aot").getFirst();
        List<String> using = runServiceOnce(List.of(), watched);
        assertThat(using, hasItem("-XX:AOTCache=" + cache));
        assertThat(Files.readString(Path.of(cache + ".log")), not(containsString("[error")));
    }

    /** The CLI's finished caches under var/aot (a training's files live in a directory of their own). */
    private List<Path> cliCaches() throws IOException {
        return aotFiles("cli-[0-9a-f]{16}\\.aot");
    }

    private Path awaitCliCache() throws InterruptedException {
        return Await.until("the CLI's AOT cache made in the background", this::cliCaches, caches -> !caches.isEmpty(), Duration.ofSeconds(120))
                .getFirst();
    }

    @Test
    void aReadVerbMakesTheCliCacheTheNextUseItAndARefusedOneIsDeletedAndMadeAgain() throws Exception {
        startService();
        assertThat(cliCaches(), is(empty()));
        list();
        Path cache = awaitCliCache();
        assertThat(Files.size(cache), greaterThan(1_000_000L));

        list();
        Path log = Path.of(cache + ".log");
        assertThat("the JVM was given the cache, and logged no error about it", Files.readString(log), not(containsString("[error")));

        Files.writeString(cache, "not an AOT cache");
        list(); // the JVM refuses it, and runs on without
        assertThat(Files.readString(log), containsString("[error"));
        Result next = list();
        assertThat(next.err(), containsString("herd: the JVM refused the AOT cache " + cache + "; deleted"));
        Path again = awaitCliCache();
        assertThat(Files.size(again), greaterThan(1_000_000L));

        // options that choose a class data archive themselves: the JVM would not start with a cache as well
        Result ownArchive = herd(Map.of("HERD_CLI_OPTS", "-Xshare:auto"), "list");
        assertThat(ownArchive.err(), ownArchive.exit(), is(0));
        assertThat(ownArchive.out(), containsString("hello"));
    }

    @Test
    void aCacheDirectoryOthersMayWriteIsNotUsed() throws Exception {
        startService();
        Path dir = home.resolve("var/aot");
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Result list = herd(Map.of(), "list");
        assertThat(list.err(), list.exit(), is(0));
        assertThat(list.out(), containsString("hello"));
        assertThat(list.err(), containsString("herd: no AOT cache: " + dir + " may be changed by another user"));
        assertThat("no CLI cache made or trained there", aotFiles("cli-.*"), is(empty()));
    }

    @Test
    void herdAotOffNeitherMakesNorUsesOne() throws Exception {
        startService();
        Result list = herd(Map.of("HERD_AOT", "off"), "list");
        assertThat(list.err(), list.exit(), is(0));
        assertThat(list.out(), containsString("hello"));
        // var/aot may exist: the service's own workers keep their caches there (app.<name>.aot)
        Path dir = home.resolve("var/aot");
        List<String> cliFiles = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (var files = Files.list(dir)) {
                files.map(file -> file.getFileName().toString()).filter(name -> name.startsWith("cli-")).forEach(cliFiles::add);
            }
        }
        assertThat("the CLI's caches and trainings in var/aot", cliFiles, is(empty()));
    }
}
