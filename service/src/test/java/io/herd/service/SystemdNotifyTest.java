package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;

/**
 * {@code herd run} as systemd runs it with {@code Type=notify}: a real datagram socket stands in
 * for systemd ({@link NotifyReceiver}) and hears every message, in order.
 */
@Timeout(180)
class SystemdNotifyTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    /** What systemd hands the service alone: no worker may inherit any of them. */
    private static final List<String> SERVICE_ONLY = List.of("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES");

    @TempDir
    Path home;

    @Test
    void systemdHearsTheStartTheWatchdogAReloadAndTheStopInOrder() throws Exception {
        try (NotifyReceiver systemd = NotifyReceiver.bind(home.resolve("notify.sock").toString());
             ServiceProcess herd = ServiceProcess.startWithEnvironment(home, ServiceProcess.helloConfig(home, 2, ""),
                     Map.of("NOTIFY_SOCKET", systemd.address, "WATCHDOG_USEC", "1000000"))) {
            int launching = systemd.await("a STATUS while the workers launch", 0,
                    message -> message.field("STATUS") != null && message.field("STATUS").contains("launching"), LIMIT);
            int ready = systemd.await("READY=1", 0, message -> message.has("READY=1"), LIMIT);
            assertThat(systemd.transcript(), launching, lessThan(ready));
            assertThat(systemd.messages().get(ready).field("STATUS"), is("hello 2/2 online"));
            assertThat("both workers run as READY=1 arrives", herd.workers(), hasSize(2));

            // Every half second (WATCHDOG_USEC is 1 s): three after READY=1.
            int watchdog = ready;
            for (int i = 0; i < 3; i++) watchdog = systemd.await("WATCHDOG=1 #" + (i + 1) + " after READY=1", watchdog + 1, message -> message.has("WATCHDOG=1"), LIMIT);

            kill("-USR2", herd.process.pid());
            int reloading = systemd.await("RELOADING=1", ready + 1, message -> message.has("RELOADING=1"), LIMIT);
            NotifyReceiver.Message reload = systemd.messages().get(reloading);
            long monotonic = Long.parseLong(reload.field("MONOTONIC_USEC"));
            // The service's CLOCK_MONOTONIC is the receiver's: stamped before it arrived, and not long before.
            assertThat("MONOTONIC_USEC against the receiver's clock as it arrived", monotonic,
                    allOf(lessThanOrEqualTo(reload.receivedMicros()), greaterThan(reload.receivedMicros() - 10_000_000)));
            int reloaded = systemd.await("READY=1 after the reload", reloading + 1, message -> message.has("READY=1"), LIMIT);
            assertThat(systemd.messages().get(reloaded).field("STATUS"), is("hello reloaded | hello 2/2 online"));
            assertThat("the reload's progress, between", systemd.indexOf(reloading + 1,
                    message -> message.field("STATUS") != null && message.field("STATUS").matches("hello \\d/2 online.*, gracefulReload \\d/2")),
                    allOf(greaterThan(reloading), lessThan(reloaded)));
            systemd.await("WATCHDOG=1 after the reload", reloaded + 1, message -> message.has("WATCHDOG=1"), LIMIT);

            herd.process.destroy(); // SIGTERM, as systemctl stop sends it
            assertThat(herd.waitFor(LIMIT), is(0));
            int stopping = systemd.await("STOPPING=1", reloaded + 1, message -> message.has("STOPPING=1"), LIMIT);
            assertThat("STOPPING=1 is the last word:\n" + systemd.transcript(), stopping, is(systemd.messages().size() - 1));
        }
    }

    /**
     * An abstract-namespace NOTIFY_SOCKET ("@name"), as systemd may pass one; WATCHDOG_PID naming
     * another process, so the watchdog is not this one's; and none of systemd's variables reach a
     * worker.
     */
    @Test
    void anAbstractSocketHearsTheServiceAndTheWorkersInheritNoneOfSystemdsVariables() throws Exception {
        try (NotifyReceiver systemd = NotifyReceiver.bind("@herd-test-" + UUID.randomUUID());
             ServiceProcess herd = ServiceProcess.startWithEnvironment(home, ServiceProcess.helloConfig(home, 1, ""), Map.of(
                     "NOTIFY_SOCKET", systemd.address, "WATCHDOG_USEC", "200000", "WATCHDOG_PID", "1",
                     "LISTEN_FDS", "0", "LISTEN_PID", "1", "LISTEN_FDNAMES", "none"))) {
            int ready = systemd.await("READY=1", 0, message -> message.has("READY=1"), LIMIT);
            assertThat(systemd.messages().get(ready).field("STATUS"), is("hello 1/1 online"));
            List<ProcessHandle> workers = herd.workers();
            assertThat(workers, hasSize(1));
            List<String> inherited = new ArrayList<>();
            String environment = Files.readString(Path.of("/proc", Long.toString(workers.get(0).pid()), "environ"));
            for (String variable : environment.split("\0")) {
                if (SERVICE_ONLY.contains(variable.substring(0, Math.max(0, variable.indexOf('='))))) inherited.add(variable);
            }
            assertThat("what the worker inherited of systemd's variables", inherited, is(empty()));
            assertThat("the worker's environment is the one read", Arrays.asList(environment.split("\0")), hasItem("HERD_APP=hello"));

            herd.process.destroy();
            assertThat(herd.waitFor(LIMIT), is(0));
            systemd.await("STOPPING=1", ready + 1, message -> message.has("STOPPING=1"), LIMIT);
            assertThat("no WATCHDOG=1: WATCHDOG_PID names another process\n" + systemd.transcript(),
                    systemd.indexOf(0, message -> message.has("WATCHDOG=1")), is(-1));
        }
    }

    /** A worker that never becomes ready: at the ready timeout, READY=1 all the same, saying what is missing. */
    @Test
    void aWorkerNeverReadyLeadsToReadyAtTheReadyTimeoutNamingWhatIsMissing() throws Exception {
        Path gate = Files.createDirectories(home.resolve("gate"));
        Files.createFile(gate.resolve("hold-1")); // instance 1 never calls ready()
        String extra = "app.whoami.ready.timeout = 4s\napp.whoami.env.WHOAMI_GATE = " + gate + "\n";
        try (NotifyReceiver systemd = NotifyReceiver.bind(home.resolve("notify.sock").toString());
             ServiceProcess herd = ServiceProcess.startWithEnvironment(home, ServiceProcess.whoAmIConfig(home, 2, extra),
                     Map.of("NOTIFY_SOCKET", systemd.address))) {
            int online = systemd.await("STATUS with one worker online", 0,
                    message -> message.field("STATUS") != null && message.field("STATUS").startsWith("whoami 1/2 online"), LIMIT);
            int ready = systemd.await("READY=1", 0, message -> message.has("READY=1"), LIMIT);
            assertThat("READY=1 comes no sooner than one worker online:\n" + systemd.transcript(), ready, greaterThanOrEqualTo(online));
            assertThat(systemd.messages().get(ready).field("STATUS"), matchesPattern("whoami 1/2 online: 1 (launching|stopped|waiting restart)"));

            herd.process.destroy();
            assertThat(herd.waitFor(LIMIT), is(0));
            systemd.await("STOPPING=1", ready + 1, message -> message.has("STOPPING=1"), LIMIT);
            assertThat(herd.output(), not(containsString("cannot notify systemd")));
        }
    }

    private static void kill(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
        if (kill.waitFor() != 0) throw new AssertionError("kill " + signal + " " + pid + " failed");
    }
}
