package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** bin/herd-service with the real /usr/bin/jsvc, on the packaged service (so: after package). */
@Timeout(300)
class HerdServiceScriptIT {
    private static final Path SCRIPT = Path.of("..", "bin", "herd-service").toAbsolutePath().normalize();
    @TempDir
    Path home;

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
            while (service.children().count() < 2 && System.nanoTime() < deadline) Thread.sleep(50);
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
        assumeTrue("root".equals(ProcessHandle.current().info().user().orElse("")), "needs root, to switch user");
        Path installed = install();
        int port = freePort();
        Path config = installed.resolve("conf/herd.properties");
        Files.writeString(config, Files.readString(config)
                .replace("127.0.0.1:8080", "127.0.0.1:" + port).replace("herd.jolokia.port = 8778", "herd.jolokia.port = 0"));
        Map<String, String> asNobody = Map.of("HERD_USER", "nobody");
        Path script = installed.resolve("bin/herd-service");

        Result started = script(script, asNobody, "start", config.toString());
        assertThat(started.out(), started.exit(), is(0));
        ProcessHandle service = ProcessHandle.of(Long.parseLong(Files.readString(home.resolve("herd.pid")).trim())).orElseThrow();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (service.children().count() < 2 && System.nanoTime() < deadline) Thread.sleep(50);
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
        Files.deleteIfExists(home.resolve("conf/jmxremote.password"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x")); // @TempDir is 0700
        return home;
    }
}
