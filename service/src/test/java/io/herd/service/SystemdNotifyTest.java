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
import java.util.function.Predicate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
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

            // The receiver's clock before the signal: as the last message before it arrived.
            long beforeTheSignal = systemd.messages().get(watchdog).receivedMicros();
            kill("-USR2", herd.process.pid());
            int reloading = systemd.await("RELOADING=1", ready + 1, message -> message.has("RELOADING=1"), LIMIT);
            assertThat("READY=1 before the first RELOADING=1", readyCount(systemd, reloading), is(1L));
            NotifyReceiver.Message reload = systemd.messages().get(reloading);
            long monotonic = Long.parseLong(reload.field("MONOTONIC_USEC"));
            // The service's CLOCK_MONOTONIC is the receiver's, read as the signal came: after the
            // receiver's clock before it was sent, and not after the message arrived.
            assertThat("MONOTONIC_USEC against the receiver's clock", monotonic,
                    allOf(greaterThan(beforeTheSignal), lessThanOrEqualTo(reload.receivedMicros())));
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

    /** With herd.drain.delay, STOPPING=1 goes out as the delay begins, not after it: systemd's stop timeout counts from then. */
    @Test
    void stoppingGoesOutAsTheDrainDelayBegins() throws Exception {
        try (NotifyReceiver systemd = NotifyReceiver.bind(home.resolve("notify.sock").toString());
             ServiceProcess herd = ServiceProcess.startWithEnvironment(home, ServiceProcess.helloConfig(home, 1, "herd.drain.delay = 1h"),
                     Map.of("NOTIFY_SOCKET", systemd.address))) {
            int ready = systemd.await("READY=1", 0, message -> message.has("READY=1"), LIMIT);
            herd.process.destroy(); // SIGTERM, as systemctl stop sends it
            int stopping = systemd.await("STOPPING=1", ready + 1, message -> message.has("STOPPING=1"), LIMIT);
            assertThat(systemd.messages().get(stopping).field("STATUS"), startsWith("draining for 3600000 ms (herd.drain.delay)"));
            assertThat("the service is in its drain delay", herd.process.isAlive(), is(true));

            herd.process.destroy(); // a second SIGTERM ends the delay
            assertThat(herd.waitFor(LIMIT), is(0));
            assertThat("STOPPING=1 once, the last word:\n" + systemd.transcript(), stopping, is(systemd.messages().size() - 1));
        }
    }

    /** A worker that never becomes ready: at the ready timeout, READY=1 all the same, saying what is missing. */
    @Test
    void aWorkerNeverReadyLeadsToReadyAtTheReadyTimeoutNamingWhatIsMissing() throws Exception {
        Path gate = Files.createDirectories(home.resolve("gate"));
        Files.createFile(gate.resolve("hold-1")); // instance 1 never calls ready()
        try (NotifyReceiver systemd = NotifyReceiver.bind(home.resolve("notify.sock").toString());
             ServiceProcess herd = ServiceProcess.startWithEnvironment(home, gatedWhoAmIConfig(gate, 2, "4s"),
                     Map.of("NOTIFY_SOCKET", systemd.address))) {
            int online = systemd.await("STATUS with one worker online", 0,
                    statusStartingWith("whoami 1/2 online"), LIMIT);
            int ready = systemd.await("READY=1", 0, message -> message.has("READY=1"), LIMIT);
            assertThat("READY=1 comes no sooner than one worker online:\n" + systemd.transcript(), ready, greaterThanOrEqualTo(online));
            assertThat(systemd.messages().get(ready).field("STATUS"), matchesPattern("whoami 1/2 online: 1 (launching|stopped|waiting restart)"));

            herd.process.destroy();
            assertThat(herd.waitFor(LIMIT), is(0));
            systemd.await("STOPPING=1", ready + 1, message -> message.has("STOPPING=1"), LIMIT);
            assertThat(herd.output(), not(containsString("cannot notify systemd")));
        }
    }

    /**
     * SIGUSR2 once systemd's notifier has started but before every worker is online: systemd must
     * hear READY=1 first, and only once every worker is online; the reload still runs.
     */
    @Test
    void aReloadBeforeTheFirstReadyLeavesReadyToTheWorkersComingOnline() throws Exception {
        Path gate = Files.createDirectories(home.resolve("gate"));
        Files.createFile(gate.resolve("hold-0")); // instance 0 does not call ready() until the test says so
        try (NotifyReceiver systemd = NotifyReceiver.bind(home.resolve("notify.sock").toString());
             ServiceProcess herd = ServiceProcess.startWithEnvironment(home, gatedWhoAmIConfig(gate, 1, "60s"),
                     Map.of("NOTIFY_SOCKET", systemd.address))) {
            int launching = systemd.await("a STATUS while the worker launches", 0,
                    statusStartingWith("whoami 0/1 online"), LIMIT);
            kill("-USR2", herd.process.pid());
            int reloading = systemd.await("the reload's STATUS", launching + 1,
                    statusStartingWith("reloading every app"), LIMIT);
            Files.delete(gate.resolve("hold-0"));
            int ready = systemd.await("READY=1", 0, message -> message.has("READY=1"), LIMIT);
            assertThat("the reload's STATUS, before READY=1:\n" + systemd.transcript(), reloading, lessThan(ready));
            assertThat(systemd.messages().get(ready).field("STATUS"), matchesPattern("(whoami reloaded \\| )?whoami 1/1 online"));
            systemd.await("the reload's outcome", launching + 1,
                    statusStartingWith("whoami reloaded | "), LIMIT);

            // A reload now is one systemd hears of: RELOADING=1, after exactly one READY=1.
            kill("-USR2", herd.process.pid());
            int reloadingNow = systemd.await("RELOADING=1", ready + 1, message -> message.has("RELOADING=1"), LIMIT);
            assertThat("READY=1 before the first RELOADING=1:\n" + systemd.transcript(), readyCount(systemd, reloadingNow), is(1L));
            systemd.await("READY=1 after the reload", reloadingNow + 1, message -> message.has("READY=1"), LIMIT);

            herd.process.destroy();
            assertThat(herd.waitFor(LIMIT), is(0));
        }
    }

    /**
     * A second SIGUSR2 while the first's reload runs (as during a health replacement or an
     * operator's command): the app is busy, and the second reload waits for it, then runs.
     */
    @Test
    void aReloadAskedForWhileTheAppIsBusyRunsOnceTheOtherOperationHasFinished() throws Exception {
        Path gate = Files.createDirectories(home.resolve("gate"));
        try (NotifyReceiver systemd = NotifyReceiver.bind(home.resolve("notify.sock").toString());
             ServiceProcess herd = ServiceProcess.startWithEnvironment(home, gatedWhoAmIConfig(gate, 1, "20s"),
                     Map.of("NOTIFY_SOCKET", systemd.address))) {
            int ready = systemd.await("READY=1", 0, message -> message.has("READY=1"), LIMIT);
            Files.createFile(gate.resolve("hold-0")); // the first reload's new JVM waits for the test
            kill("-USR2", herd.process.pid());
            systemd.await("the first reload in progress", ready + 1,
                    message -> message.field("STATUS") != null && message.field("STATUS").contains("gracefulReload 0/1"), LIMIT);
            kill("-USR2", herd.process.pid());
            herd.awaitOutput("its reload waits for that to finish", 1);
            Files.delete(gate.resolve("hold-0"));
            int first = systemd.await("the first reload's READY=1", ready + 1, message -> message.has("READY=1"), LIMIT);
            int second = systemd.await("the second reload's READY=1", first + 1, message -> message.has("READY=1"), LIMIT);
            assertThat(systemd.messages().get(first).field("STATUS"), is("whoami reloaded | whoami 1/1 online"));
            assertThat(systemd.messages().get(second).field("STATUS"), is("whoami reloaded | whoami 1/1 online"));

            herd.process.destroy();
            assertThat(herd.waitFor(LIMIT), is(0));
        }
    }

    /** The tests' WhoAmI app, its workers gated by the directory {@code gate} (WhoAmI's hold-i and crash-i files). */
    private Path gatedWhoAmIConfig(Path gate, int instances, String readyTimeout) throws Exception {
        return ServiceProcess.whoAmIConfig(home, instances, "app.whoami.ready.timeout = " + readyTimeout + "\napp.whoami.env.WHOAMI_GATE = " + gate + "\n");
    }

    private static Predicate<NotifyReceiver.Message> statusStartingWith(String prefix) {
        return message -> message.field("STATUS") != null && message.field("STATUS").startsWith(prefix);
    }

    /** How many READY=1 came before message {@code index}. */
    private static long readyCount(NotifyReceiver systemd, int index) {
        return systemd.messages().subList(0, index).stream().filter(message -> message.has("READY=1")).count();
    }

    private static void kill(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
        if (kill.waitFor() != 0) throw new AssertionError("kill " + signal + " " + pid + " failed");
    }
}
