package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** bin/herd-service with the real /usr/bin/jsvc, on the packaged service (so: after package). */
@Timeout(300)
class HerdServiceScriptIT {
    private static final Path SCRIPT = Path.of("..", "bin", "herd-service").toAbsolutePath().normalize();
    @TempDir
    Path home;
    /** Outside herd's home: where the victims of planted symlinks live. */
    @TempDir
    Path outside;

    private record Result(int exit, String out) {
    }

    private Result script(String... args) throws Exception {
        return script(SCRIPT, Map.of(), args);
    }

    private Result script(Path script, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(script.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(Map.of("HERD_PID", home.resolve("herd.pid").toString(), "HERD_OUT_DIR", home.resolve("out").toString()));
        builder.environment().putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(180, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("herd-service " + String.join(" ", args) + " did not finish: " + out);
        }
        return new Result(process.exitValue(), out);
    }

    private Path config(int port) throws Exception {
        Path config = ServiceProcess.helloConfig(home, 2, "");
        Files.writeString(config, Files.readString(config).replace("127.0.0.1:0", "127.0.0.1:" + port)
                + "\nherd.jolokia.password.file = " + home.resolve("jolokia.password") + "\n");
        return config;
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    @Test
    void startServeReloadOnSigusr2AndStopUnderJsvc() throws Exception {
        int port = freePort();
        Path config = config(port);
        Result started = script("start", config.toString());
        assertThat(started.out(), started.exit(), is(0));
        long pid = Long.parseLong(Files.readString(home.resolve("herd.pid")).trim());
        ProcessHandle service = ProcessHandle.of(pid).orElseThrow();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            Await.until("the service's 2 workers started", () -> service.children().count(), count -> count >= 2, Duration.ofSeconds(60));
            for (int i = 0; i < 10; i++) assertThat(Http.get(port, "/").status(), is(200));
            assertThat(script("status").out(), containsString("running (pid " + pid + ")"));
            List<Long> before = service.children().map(ProcessHandle::pid).toList();

            assertThat(new ProcessBuilder("kill", "-USR2", Long.toString(pid)).start().waitFor(), is(0));
            while (service.children().map(ProcessHandle::pid).anyMatch(before::contains) && System.nanoTime() < deadline) {
                assertThat(Http.get(port, "/").status(), is(200)); // no request fails meanwhile
            }
            List<Long> after = service.children().map(ProcessHandle::pid).toList();
            assertThat(after.stream().filter(before::contains).toList(), hasSize(0));

            Result stopped = script("stop");
            assertThat(stopped.out(), stopped.exit(), is(0));
            assertThat(service.isAlive(), is(false));
            assertThat(Files.exists(home.resolve("herd.pid")), is(false));
            for (long worker : after) assertThat(ServiceProcess.running(worker), is(false));
            assertThat(script("status").exit(), is(3));
        } finally {
            service.descendants().forEach(ProcessHandle::destroyForcibly);
            service.destroyForcibly();
        }
    }

    /** jsvc starts the service through HerdDaemon.init too: herd.log.format = json reaches log4j before its first line. */
    @Test
    void jsonLogsUnderJsvc() throws Exception {
        Path config = config(freePort());
        Files.writeString(config, Files.readString(config) + "herd.log.format = json\n");
        Result started = script("start", config.toString());
        assertThat(started.out(), started.exit(), is(0));
        ProcessHandle service = ProcessHandle.of(Long.parseLong(Files.readString(home.resolve("herd.pid")).trim())).orElseThrow();
        try {
            Path workerLog = home.resolve("logs/hello-0-out.log");
            String line = Await.until("worker 0's first line in " + workerLog, () -> Files.exists(workerLog) ? Files.readString(workerLog) : "",
                    text -> text.endsWith("\n"), Duration.ofSeconds(60)).lines().findFirst().orElseThrow();
            org.jolokia.json.JSONObject object = new org.jolokia.json.parser.JSONParser().parse(line, org.jolokia.json.JSONObject.class);
            assertThat(object.get("app"), is("hello"));
            assertThat("a worker's pid", service.children().map(worker -> Long.toString(worker.pid())).toList(), hasItem((String) object.get("pid")));
            assertThat((String) object.get("message"), containsString("serving for herd app hello"));
            Result stopped = script("stop");
            assertThat(stopped.out(), stopped.exit(), is(0));
            for (Path file : List.of(home.resolve("logs/herd.log"), home.resolve("out/herd-service.out"))) {
                List<String> lines = Files.readAllLines(file);
                assertThat(file.toString(), lines, hasItem(containsString("\"message\":\"stopped\"")));
                for (String logged : lines) {
                    assertThat(file + ": " + logged, new org.jolokia.json.parser.JSONParser().parse(logged), instanceOf(org.jolokia.json.JSONObject.class));
                }
            }
        } finally {
            service.descendants().forEach(ProcessHandle::destroyForcibly);
            service.destroyForcibly();
        }
    }

    @Test
    void aTakenPortFailsTheStartNamingThePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Result result = script("start", config(taken.getLocalPort()).toString());
            assertThat(result.exit(), is(not(0)));
            assertThat(result.out(), containsString("port " + taken.getLocalPort()));
            assertThat(script("status").exit(), is(3));
        }
    }

    /**
     * As root, HERD_USER=nobody: jsvc binds as root, then the service and every worker run as
     * nobody. herd is installed into a directory of its own first (bin, conf, the jars), as an
     * operator would, since nobody may not be able to read the build tree.
     */
    @Test
    void startsAsAnUnprivilegedUserWhenRunAsRoot() throws Exception {
        assumeRoot();
        Path installed = install();
        int port = freePort();
        Path config = installedConfig(port, "");
        Map<String, String> asNobody = Map.of("HERD_USER", "nobody");
        Path script = installed.resolve("bin/herd-service");

        Result started = script(script, asNobody, "start", config.toString());
        assertThat(started.out(), started.exit(), is(0));
        ProcessHandle service = ProcessHandle.of(Long.parseLong(Files.readString(home.resolve("herd.pid")).trim())).orElseThrow();
        try {
            Await.until("the service's 2 workers started", () -> service.children().count(), count -> count >= 2, Duration.ofSeconds(60));
            for (int i = 0; i < 4; i++) assertThat(Http.get(port, "/").status(), is(200));
            List<ProcessHandle> workers = service.children().toList();
            assertThat(workers, hasSize(2));
            assertThat(service.info().user().orElse("?"), is("nobody"));
            for (ProcessHandle worker : workers) assertThat(worker.info().user().orElse("?"), is("nobody"));
            assertThat(Files.exists(installed.resolve("logs/herd.log")), is(true));

            Result stopped = script(script, asNobody, "stop");
            assertThat(stopped.out(), stopped.exit(), is(0));
            assertThat(service.isAlive(), is(false));
            for (ProcessHandle worker : workers) assertThat(worker.isAlive(), is(false));
        } finally {
            service.descendants().forEach(ProcessHandle::destroyForcibly);
            service.destroyForcibly();
        }
    }

    /**
     * As root with HERD_USER=nobody, after nobody planted symlinks to root's files in the
     * directories an earlier start handed it (logs/, var/), and HERD_PID and HERD_OUT_DIR point
     * there (as they did by default): jsvc would open the pidfile and its output files as root,
     * following the links, so the start is refused, saying which directory and why. Nothing
     * outside herd's home changes.
     */
    @Test
    void rootOpensNoFileInTheDirectoriesHandedToTheUser() throws Exception {
        assumeRoot();
        PlantedHome planted = plantedHome();
        Path installed = planted.installed(), logs = planted.logs(), var = planted.var();

        Result started = startAsNobody(installed, installedConfig(freePort(), ""),
                Map.of("HERD_PID", var.resolve("herd.pid").toString(), "HERD_OUT_DIR", logs.toString()));

        planted.assertNothingOutsideChanged();
        assertThat(started.out(), started.exit(), is(not(0)));
        assertThat(started.out(), containsString("HERD_PID's directory " + var + ": refused: " + var + " is owned by nobody, not root"));
        assertThat(started.out(), containsString("HERD_OUT_DIR " + logs + ": refused: " + logs + " is owned by nobody, not root"));
        assertThat(started.out(), containsString("herd.logs.dir " + logs + ": left as it is: nobody's already"));
        assertThat(started.out(), containsString("herd.jolokia.password.file's directory " + var + ": left as it is: nobody's already"));
    }

    /**
     * The same planted links, with the pidfile and jsvc's output in directories only root can
     * change: the start goes on (logs/ and var/ are nobody's already, and say so), the service
     * runs as nobody and so writes through the links with nobody's rights only: whether it starts
     * or not, nothing outside herd's home changes.
     */
    @Test
    void linksPlantedInTheUsersDirectoriesAreFollowedWithTheUsersRightsOnly() throws Exception {
        assumeRoot();
        PlantedHome planted = plantedHome();
        Path installed = planted.installed(), logs = planted.logs(), var = planted.var();

        Result started = startAsNobody(installed, installedConfig(freePort(), ""), Map.of());

        planted.assertNothingOutsideChanged();
        assertThat(started.out(), containsString("herd.logs.dir " + logs + ": left as it is: nobody's already"));
        assertThat(started.out(), containsString("herd.jolokia.password.file's directory " + var + ": left as it is: nobody's already"));
    }

    /**
     * As root without HERD_USER, the service is root: after a start as nobody, logs/ and var/ are
     * nobody's, with nobody's symlinks in them. The start is refused, naming each directory, and
     * nothing outside herd's home changes.
     */
    @Test
    void asRootWithoutAUserTheServiceWritesNowhereAUserCouldHavePlanted() throws Exception {
        assumeRoot();
        PlantedHome planted = plantedHome();
        Path installed = planted.installed(), logs = planted.logs(), var = planted.var();

        Path script = installed.resolve("bin/herd-service");
        Result started = script(script, Map.of(), "start", installedConfig(freePort(), "").toString());
        if (started.exit() == 0) script(script, Map.of(), "stop");

        planted.assertNothingOutsideChanged();
        assertThat(started.out(), started.exit(), is(not(0)));
        String runsAsRoot = " is owned by nobody, not root; the service runs as root and writes there";
        assertThat(started.out(), containsString("herd.logs.dir " + logs + ": refused: " + logs + runsAsRoot));
        assertThat(started.out(), containsString("herd.jolokia.password.file's directory " + var + ": refused: " + var + runsAsRoot));
    }

    /** Where a herd.logs.dir that nobody prepared leads: somewhere outside herd's home, each time. */
    enum LogsDir {
        /** logs is nobody's symlink to root's directory; so is var, the password files' directory. */
        A_SYMLINK,
        /** var/escape/logs, where var/escape is nobody's symlink to root's directory. */
        THROUGH_A_SYMLINK,
        /** ../(outside)/victim-dir: its text starts in herd's home, it does not. */
        OUTSIDE_THE_HOME
    }

    /**
     * As root with HERD_USER=nobody, a herd.logs.dir (and the password files' directory) that
     * leads outside herd's home: the start chowns nothing there, says why for each, and refuses
     * to start since nobody cannot write the directory. Nothing outside herd's home changes.
     */
    @ParameterizedTest(name = "herd.logs.dir {0}")
    @EnumSource(LogsDir.class)
    void theStartHandsTheUserNothingOutsideHerdsHome(LogsDir kind) throws Exception {
        assumeRoot();
        Path installed = install();
        Victims victims = Victims.in(outside);
        String logsDir = switch (kind) {
            case A_SYMLINK -> {
                plantAsNobody(installed.resolve("logs"), victims.dir());
                plantAsNobody(installed.resolve("var"), victims.dir());
                yield "logs";
            }
            case THROUGH_A_SYMLINK -> {
                plantAsNobody(ownedByNobody(installed.resolve("var")).resolve("escape"), victims.dir());
                yield "var/escape/logs";
            }
            case OUTSIDE_THE_HOME -> installed.relativize(victims.dir()).toString();
        };
        Path logs = installed.resolve(logsDir);
        Map<String, String> before = victims.snapshot();

        Result started = startAsNobody(installed, installedConfig(freePort(), "herd.logs.dir = " + logsDir + "\n"), Map.of());

        assertThat(victims.snapshot(), is(before));
        assertThat(started.out(), started.exit(), is(not(0)));
        String refused = "herd.logs.dir " + logs + ": not handed to nobody: ";
        String cannotWrite = "; and nobody cannot write it: refusing to start";
        switch (kind) {
            case A_SYMLINK -> {
                assertThat(started.out(), containsString(refused + "it is reached through a symlink (it resolves to " + victims.dir() + ")" + cannotWrite));
                assertThat(started.out(), containsString("herd.jolokia.password.file's directory " + installed.resolve("var")
                        + ": not handed to nobody: it is reached through a symlink (it resolves to " + victims.dir() + ")" + cannotWrite));
            }
            case THROUGH_A_SYMLINK -> assertThat(started.out(), containsString(
                    refused + "it is reached through a symlink (it resolves to " + victims.dir().resolve("logs") + ")" + cannotWrite));
            case OUTSIDE_THE_HOME -> assertThat(started.out(), containsString(
                    refused + "it resolves to " + victims.dir() + ", outside herd's home " + installed + cannotWrite));
        }
    }

    /** herd installed, its logs/ and var/ nobody's and full of nobody's symlinks, and the victims as they were. */
    private record PlantedHome(Path installed, Path logs, Path var, Victims victims, Map<String, String> before) {
        void assertNothingOutsideChanged() throws IOException {
            assertThat(victims.snapshot(), is(before));
        }
    }

    private PlantedHome plantedHome() throws IOException {
        Path installed = install();
        Victims victims = Victims.in(outside);
        Path logs = plantEverywhereInLogsAndVar(installed, victims);
        return new PlantedHome(installed, logs, installed.resolve("var"), victims, victims.snapshot());
    }

    /**
     * What an earlier start handed to nobody, and nobody has since filled with symlinks to root's
     * file and to new names in root's directory: logs/ (herd's log, a worker's, jsvc's output as
     * they were by default) and var/ (the pidfile as it was by default, both password files). The
     * pidfile's leads to a new name: jsvc takes a file whose text is no number for a running
     * service (pid 0) and stops there.
     */
    private Path plantEverywhereInLogsAndVar(Path installed, Victims victims) throws IOException {
        Path logs = ownedByNobody(installed.resolve("logs"));
        Path var = ownedByNobody(installed.resolve("var"));
        for (String name : List.of("herd.log", "hello-0-out.log", "herd-service.out")) plantAsNobody(logs.resolve(name), victims.file());
        plantAsNobody(logs.resolve("herd-service.err"), victims.dir().resolve("planted.err"));
        plantAsNobody(var.resolve("herd.pid"), victims.dir().resolve("planted.pid"));
        plantAsNobody(var.resolve("jolokia.password"), victims.file());
        plantAsNobody(var.resolve("jolokia-monitor.password"), victims.dir().resolve("planted.password"));
        return logs;
    }

    /** herd-service start as root with HERD_USER=nobody; a service it started is stopped again. */
    private Result startAsNobody(Path installed, Path config, Map<String, String> env) throws Exception {
        Map<String, String> asNobody = new HashMap<>(env);
        asNobody.put("HERD_USER", "nobody");
        Path script = installed.resolve("bin/herd-service");
        Result started = script(script, asNobody, "start", config.toString());
        if (started.exit() == 0) {
            Result stopped = script(script, asNobody, "stop");
            assertThat(stopped.out(), stopped.exit(), is(0));
        }
        return started;
    }

    /** Root's things outside herd's home that planted symlinks point at. */
    private record Victims(Path file, Path dir) {
        /** A file with known content, mode and mtime, and a directory holding one, all root's. */
        static Victims in(Path outside) throws IOException {
            Files.setPosixFilePermissions(outside, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path file = Files.writeString(outside.resolve("victim.txt"), "root's file, never to change\n");
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
            Files.setLastModifiedTime(file, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
            Path dir = Files.createDirectory(outside.resolve("victim-dir"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.writeString(dir.resolve("kept.txt"), "root's too\n");
            return new Victims(file.toRealPath(), dir.toRealPath());
        }

        /** Every entry outside, with its owner, group, mode, mtime and content: what must not change. */
        Map<String, String> snapshot() throws IOException {
            Map<String, String> entries = new HashMap<>();
            try (Stream<Path> paths = Files.walk(file.getParent())) {
                for (Path path : paths.toList()) {
                    PosixFileAttributes attributes = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    String content = attributes.isRegularFile() ? Files.readString(path) : "";
                    entries.put(path.toString(), attributes.owner() + " " + attributes.group() + " "
                            + PosixFilePermissions.toString(attributes.permissions()) + " " + attributes.lastModifiedTime() + " " + content);
                }
            }
            return entries;
        }
    }

    /** A directory of nobody's, as a start that handed it over leaves it. */
    private static Path ownedByNobody(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.getFileAttributeView(dir, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setOwner(nobody(dir));
        return dir;
    }

    /** A symlink of nobody's (lchown: the target keeps its owner), as nobody could make one in its directories. */
    private static void plantAsNobody(Path link, Path target) throws IOException {
        Files.createSymbolicLink(link, target);
        Files.getFileAttributeView(link, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setOwner(nobody(link));
    }

    private static UserPrincipal nobody(Path any) throws IOException {
        return any.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    }

    private static void assumeRoot() {
        assumeTrue("root".equals(ProcessHandle.current().info().user().orElse("")), "needs root, to switch user");
    }

    /** The installed conf/herd.properties on free ports (the app's given, Jolokia's any), {@code extra} appended. */
    private Path installedConfig(int port, String extra) throws IOException {
        Path config = home.resolve("conf/herd.properties");
        return Files.writeString(config, Files.readString(config)
                .replace("127.0.0.1:8080", "127.0.0.1:" + port).replace("herd.jolokia.port = 8778", "herd.jolokia.port = 0") + extra);
    }

    /** bin, conf, the service's jars and the example's, copied into the test's home, readable by all. */
    private Path install() throws IOException {
        Path project = SCRIPT.getParent().getParent();
        for (String part : List.of("bin", "conf", "service/target/herd-service.jar", "service/target/lib", "examples/hello/target/hello.jar")) {
            Path from = project.resolve(part);
            try (Stream<Path> paths = Files.walk(from)) {
                for (Path path : paths.toList()) {
                    Path to = home.resolve(part).resolve(from.relativize(path).toString());
                    Files.createDirectories(to.getParent());
                    Files.copy(path, to, StandardCopyOption.COPY_ATTRIBUTES, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x")); // @TempDir is 0700
        return home;
    }
}
