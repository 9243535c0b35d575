package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;

/** {@code herd run}: the service as an operator starts it, with the example app as workers. */
@Timeout(120)
class RunCommandTest {
    @TempDir
    Path home;

    @Test
    void clustersHelloOverTwoWorkersAndStopsCleanlyOnSigterm() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 2, ""))) {
            int port = herd.port("hello");
            herd.awaitOutput("-> online", 2);
            // The log line comes a moment before the rotation holds the worker: wait for both to answer.
            Set<String> answered = new LinkedHashSet<>();
            for (int i = 0; i < 1000 && answered.size() < 2; i++) answered.add(Http.get(port, "/").worker());
            List<String> servedBy = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Http response = Http.get(port, "/");
                assertThat(response.status(), is(200));
                assertThat(response.body(), is("hello world"));
                servedBy.add(response.worker());
            }
            Set<String> workers = new LinkedHashSet<>(servedBy);
            assertThat("two workers, taking turns: " + servedBy, workers, hasSize(2));
            for (int i = 1; i < servedBy.size(); i++) assertThat(servedBy.get(i), is(not(servedBy.get(i - 1))));
            List<ProcessHandle> children = herd.workers();

            herd.process.destroy(); // SIGTERM

            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(0));
            assertThat("no worker outlives the service", children.stream().filter(w -> ServiceProcess.running(w.pid())).toList(), hasSize(0));
            assertThat(Files.readString(home.resolve("logs/herd.log")), containsString("stopped"));
        }
    }

    /**
     * herd.drain.delay under a real SIGTERM: the agent check says drain at once while the app
     * serves on, and a second SIGTERM ends the delay (here an hour): the service stops, as it
     * would have without one, and exits 0.
     */
    @Test
    void sigtermDrainsFirstWhileServingAndASecondSigtermEndsTheDelay() throws Exception {
        Path config = ServiceProcess.helloConfig(home, 1, "herd.drain.delay = 1h\napp.hello.agent.listen = 127.0.0.1:0");
        try (ServiceProcess herd = ServiceProcess.start(home, config)) {
            int port = herd.port("hello");
            int agent = herd.agentPort("hello");
            Await.until("the agent check to say up", () -> BalancerFacingTest.agentCheck(agent, null), "up ready 100%\n"::equals, Duration.ofSeconds(60));

            herd.process.destroy(); // SIGTERM
            Await.until("the agent check to say drain", () -> BalancerFacingTest.agentCheck(agent, null), "drain\n"::equals, Duration.ofSeconds(30));
            assertThat("one line says the delay began", Files.readString(home.resolve("logs/herd.log")),
                    containsString("draining: balancers are told to send no new clients; serving on unchanged for 3600000 ms"));
            assertThat("the app serves on during the drain delay", Http.get(port, "/").status(), is(200));
            assertThat("the service waits out its drain delay", herd.process.isAlive(), is(true));

            herd.process.destroy(); // a second SIGTERM
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(0));
            assertThat(Files.readString(home.resolve("logs/herd.log")), containsString("drain delay cut short"));
        }
    }

    /** A configuration from before reload.surge runs, and says once, in herd's log, what its old key is called now. */
    @Test
    void aFormerKeyLoadsWithOneWarningInHerdsLog() throws Exception {
        String warning = "app.hello.reload.parallelism is now app.hello.reload.surge: read as such (herd save writes the new name)";
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 1, "app.hello.reload.parallelism = 2"))) {
            herd.awaitOutput("-> online", 1);
            assertThat(herd.output().lines().filter(line -> line.contains(warning)).count(), is(1L));
            herd.process.destroy(); // SIGTERM
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(0));
            assertThat("the warning went where herd's log goes", Files.readString(home.resolve("logs/herd.log")), containsString(warning));
        }
    }

    @Test
    void aSlowRequestInFlightWhenTheServiceStopsIsAnswered() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 2, ""))) {
            int port = herd.port("hello");
            herd.awaitOutput("-> online", 2);
            try (Http.Sent slow = Http.send(port, "/sleep?ms=1500")) {
                Await.until("the slow request accepted by a worker", () -> herd.acceptedByAWorker(slow.localPort()), Duration.ofSeconds(30));

                herd.process.destroy(); // SIGTERM

                Http response = slow.response();
                assertThat(response.status(), is(200));
                assertThat(response.headers().get("connection"), is("close"));
            }
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(0));
        }
    }

    @Test
    void sigusr2GracefullyReloadsEveryWorker() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 2, ""))) {
            herd.port("hello");
            herd.awaitOutput("-> online", 2);
            List<Long> before = herd.workers().stream().map(ProcessHandle::pid).toList();

            Process usr2 = new ProcessBuilder("kill", "-USR2", Long.toString(herd.process.pid())).inheritIO().start();
            assertThat(usr2.waitFor(), is(0));

            herd.awaitOutput("on SIGUSR2: gracefulReload: replaced 2 workers", 1);
            // a reload does not wait for an old worker that writes the AOT cache as it exits
            List<Long> after = Await.until("the old workers gone", () -> herd.workers().stream().map(ProcessHandle::pid).toList(),
                    pids -> pids.stream().noneMatch(before::contains), Duration.ofSeconds(60));
            assertThat(after, hasSize(2));
            assertThat(after.stream().filter(before::contains).toList(), hasSize(0));
        }
    }

    @Test
    void ctrlCInATerminalStopsEveryWorkerGracefully() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 2, ""), true)) {
            herd.port("hello");
            herd.awaitOutput("-> online", 2);

            herd.interruptProcessGroup();

            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(0));
            herd.awaitOutput("exited with exit code 0", 2); // drained and exited on their own, not by the signal
            assertThat(herd.output(), not(containsString("signal 2")));
        }
    }

    @Test
    void everyInstancesLogRotatesPastItsSizeLimit() throws Exception {
        Path config = ServiceProcess.helloConfig(home, 2, "app.hello.env.HELLO_LOG_BYTES = 200000");
        try (ServiceProcess herd = ServiceProcess.start(home, config, false, "-Dherd.worker.log.size=50 KB", "-Dherd.worker.log.keep=2")) {
            herd.port("hello");
            Path logs = home.resolve("logs");
            for (int instance : new int[] {0, 1}) {
                Path current = logs.resolve("hello-" + instance + "-out.log");
                Path secondRotation = logs.resolve("hello-" + instance + "-out-2.log.gz");
                Await.until("instance " + instance + " rotated twice, and writing its log again",
                        () -> Files.exists(secondRotation) && readWhileRotating(current).contains("chatty"), Duration.ofSeconds(30));
                assertThat("history is bounded", Files.exists(logs.resolve("hello-" + instance + "-out-3.log.gz")), is(false));
                assertThat("the current log's size", (long) readWhileRotating(current).length(), is(lessThanOrEqualTo(60 * 1024L)));
            }
        }
    }

    /** The log's text, or "" while a rotation has moved it away and not yet made the next: the worker keeps writing. */
    private static String readWhileRotating(Path log) throws java.io.IOException {
        try {
            return Files.readString(log);
        } catch (java.nio.file.NoSuchFileException rotating) {
            return "";
        }
    }

    @Test
    void aMasterKilledWithSigkillLeavesNoWorkerBehind() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 2, ""))) {
            int port = herd.port("hello");
            assertThat(Http.get(port, "/").status(), is(200));
            List<ProcessHandle> workers = herd.workers();
            assertThat(workers, hasSize(2));

            herd.process.destroyForcibly(); // SIGKILL: no shutdown hook, no goodbye
            herd.waitFor(Duration.ofSeconds(30));
            // Nobody signals the workers: each must see its IPC channel end and exit by itself. The
            // bound is generous (they take about a second on an idle machine): this is about
            // whether they go, not how fast.
            Await.until("the workers of a SIGKILLed master gone",
                    () -> workers.stream().filter(w -> ServiceProcess.running(w.pid())).toList(), List::isEmpty, Duration.ofSeconds(30));
        }
    }

    @Test
    void anUnknownKeyStopsTheServiceNamingTheKeyAndTheFile() throws Exception {
        Path config = ServiceProcess.helloConfig(home, 2, "app.hello.instancez = 3");
        try (ServiceProcess herd = ServiceProcess.start(home, config)) {
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(1));
            assertThat(herd.output(), allOf(containsString(config.toString()), containsString("app.hello.instancez: unknown key")));
        }
    }

    @Test
    void aBusyPortStopsTheServiceNamingThePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Path config = ServiceProcess.helloConfig(home, 2, "").toAbsolutePath();
            Files.writeString(config, Files.readString(config).replace("127.0.0.1:0", "127.0.0.1:" + taken.getLocalPort()));
            try (ServiceProcess herd = ServiceProcess.start(home, config)) {
                assertThat(herd.waitFor(Duration.ofSeconds(60)), is(1));
                assertThat(herd.output(), allOf(containsString("port " + taken.getLocalPort()), containsString(config.toString())));
                assertThat("no worker was started", herd.workers(), hasSize(0));
            }
        }
    }
}
