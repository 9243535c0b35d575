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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/** bin/herd-service with the real /usr/bin/jsvc, on the packaged service (so: after package). */
@Timeout(300)
class HerdServiceScriptIT {
    private static final Path SCRIPT = Path.of("..", "bin", "herd-service").toAbsolutePath().normalize();
    @TempDir
    Path home;

    private record Result(int exit, String out) {
    }

    private Result script(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(SCRIPT.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(Map.of("HERD_PID", home.resolve("herd.pid").toString(), "HERD_OUT_DIR", home.resolve("out").toString()));
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
}
