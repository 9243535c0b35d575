package io.herd.engine;

import io.herd.testapp.HttpApp;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;

/**
 * HTTP health checks with real worker JVMs ({@link HttpApp}, whose health path each test makes
 * hang, fail or pass per worker), in handoff and proxy dispatch.
 */
@Timeout(120)
class HttpHealthCheckTest {
    /** How long a test waits for what takes a few checks: intervals of seconds, so that a slow check on a loaded machine passes. */
    private static final Duration CHECKS_LIMIT = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    private TestCluster start(int instances, Map<String, String> settings) throws Exception {
        Map<String, String> values = new HashMap<>(Map.of("main", HttpApp.class.getName(), "env.HTTPAPP_DIR", dir.toString(),
                "health.url", "/healthz"));
        values.putAll(settings);
        return TestCluster.start(instances, values);
    }

    @Test
    void aWorkerWhoseHealthCheckTimesOutIsReplacedReplacementFirstWhileEveryClientRequestIsAnswered() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = start(2, Map.of("health.interval", "4s", "health.timeout", "3s", "health.failures", "2"))) {
            ClusterInfo before = herd.awaitOnline(2);
            long hanging = before.workers().get(0).pid();
            long healthy = before.workers().get(1).pid();
            herd.cluster.addListener(events::add);
            Files.writeString(dir.resolve("health-" + hanging), "H"); // its /healthz hangs; its other paths answer

            AtomicBoolean loading = new AtomicBoolean(true);
            AtomicLong answered = new AtomicLong();
            List<String> failures = new CopyOnWriteArrayList<>();
            Thread load = Thread.ofVirtual().start(() -> {
                while (loading.get()) {
                    try {
                        String answer = get(herd.port, "/");
                        if (answer.startsWith("HTTP/1.1 200")) answered.incrementAndGet();
                        else failures.add(answer);
                    } catch (IOException e) {
                        failures.add(e.toString());
                    }
                    pause(); // a steady load, not a flood
                }
            });
            ClusterInfo after = Await.until("the hanging worker replaced, and two workers online", herd::info, info -> info.online() == 2
                    && info.workers().stream().noneMatch(worker -> worker.pid() == hanging), CHECKS_LIMIT);
            loading.set(false);
            load.join(30_000);

            assertThat("client requests that failed", failures, is(List.of()));
            assertThat(answered.get(), greaterThan(0L));
            assertThat("the healthy worker stays", after.workers().stream().anyMatch(worker -> worker.pid() == healthy), is(true));
            WorkerEvent stop = events.stream().filter(e -> e.pid() == hanging && e.to() == WorkerState.STOPPING).findFirst().orElseThrow();
            assertThat(stop.reason(), containsString("health check failed 2 times in a row: timed out after 3 s on GET /healthz"));
            // Replacement first: every stop is preceded by its replacement coming online.
            int online = 2;
            for (WorkerEvent event : events) {
                if (event.to() == WorkerState.ONLINE) online++;
                if (event.to() == WorkerState.STOPPING) online--;
                assertThat("workers online after " + event, online >= 2, is(true));
            }
        }
    }

    @Test
    void aWorkerAnswering503IsReplacedInProxyDispatch() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = start(1, Map.of("dispatch", "proxy", "health.interval", "4s", "health.timeout", "3s",
                "health.failures", "2"))) {
            long failing = herd.awaitOnline(1).workers().getFirst().pid();
            herd.cluster.addListener(events::add);
            Files.writeString(dir.resolve("health-" + failing), "F");

            Await.until("the failing worker replaced", herd::info, info -> info.online() == 1
                    && info.workers().stream().noneMatch(worker -> worker.pid() == failing), CHECKS_LIMIT);

            WorkerEvent stop = events.stream().filter(e -> e.pid() == failing && e.to() == WorkerState.STOPPING).findFirst().orElseThrow();
            assertThat(stop.reason(), containsString("health check failed 2 times in a row: status 503 on GET /healthz"));
            herd.awaitInfo("the replacement counted as a healthRestart that succeeded", info -> info.operations().stream()
                    .anyMatch(stats -> stats.operation().equals("healthRestart") && stats.succeeded() == 1));
            assertThat("the check reached the worker's own port over loopback", Files.readAllLines(dir.resolve("seen-" + failing)),
                    everyItem(matchesPattern("GET /healthz HTTP/1\\.1\\|localhost\\|herd-health\\|close\\|/127\\.0\\.0\\.1:\\d+")));
        }
    }

    /**
     * Its health path fails once, passes twice, and again: never three failures in a row, even
     * when one pass is slow enough to time out, but three in all by its seventh check. Not
     * replaced, and the checks, handed to it as clients' connections are, are not counted as
     * clients'. Its spare is never checked.
     */
    @Test
    void aWorkerThatRecoversBeforeItsFailuresAddUpIsNotReplacedAndItsChecksAreNotCountedAsClients() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = start(1, Map.of("spares", "1", "health.url", "http://health.example:8080/healthz?from=herd",
                "health.interval", "2500ms", "health.timeout", "2s", "health.failures", "3"))) {
            ClusterInfo before = herd.awaitInfo("one worker online and a spare",
                    info -> info.online() == 1 && info.workers().stream().anyMatch(worker -> worker.state().equals("spare")));
            herd.cluster.addListener(events::add);
            long flaky = before.workers().stream().filter(worker -> worker.state().equals("online")).findFirst().orElseThrow().pid();
            long spare = before.workers().stream().filter(worker -> worker.state().equals("spare")).findFirst().orElseThrow().pid();
            Files.writeString(dir.resolve("health-" + flaky), "FPP");
            Path seen = dir.resolve("seen-" + flaky);

            Await.until("eight checks of the flaky worker, or a move of it", () -> !events.isEmpty()
                    || Files.exists(seen) && Files.readAllLines(seen).size() >= 8, CHECKS_LIMIT);

            ClusterInfo after = herd.info();
            assertThat("still the same worker", after.workers().stream().anyMatch(w -> w.pid() == flaky && w.state().equals("online")),
                    is(true));
            assertThat("no worker moved", events, is(List.of()));
            assertThat("health checks are not clients' connections", after.workers().stream().mapToLong(WorkerInfo::handedOff).sum(),
                    is(0L));
            assertThat(Files.readAllLines(seen).getFirst(),
                    matchesPattern("GET /healthz\\?from=herd HTTP/1\\.1\\|health\\.example:8080\\|herd-health\\|close\\|/127\\.0\\.0\\.1:\\d+"));
            assertThat("the spare was never checked", Files.exists(dir.resolve("seen-" + spare)), is(false));
            assertThat(get(herd.port, "/"), not(containsString("503")));
        }
    }

    /**
     * Every worker fails (a cause outside them): replaced one at a time, replacement first, and
     * as each replacement fails too, the next replacement waits twice as long as the last.
     */
    @Test
    void whenReplacementsFailTooEachNextReplacementWaitsTwiceAsLong() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (LogCapture log = LogCapture.of(Cluster.class);
             TestCluster herd = start(2, Map.of("health.interval", "1s", "health.timeout", "900ms", "health.failures", "1"))) {
            herd.awaitOnline(2);
            herd.cluster.addListener(events::add);
            Files.writeString(dir.resolve("health-all"), "F");
            Await.until("a replacement failing too, twice", () -> log.warnings().stream()
                    .filter(line -> line.contains("its replacement fails it too")).count() >= 2, CHECKS_LIMIT);
            List<String> backoffs = log.warnings().stream().filter(line -> line.contains("its replacement fails it too"))
                    .map(line -> line.substring(line.indexOf("the next replacement waits"))).toList();
            assertThat(backoffs.subList(0, 2), is(List.of("the next replacement waits 2 s", "the next replacement waits 4 s")));
            Files.delete(dir.resolve("health-all"));
            herd.awaitOnline(2);
            // One at a time, replacement first: never fewer than two online, never two replacements' old workers stopping at once.
            int online = 2;
            for (WorkerEvent event : events) {
                if (event.to() == WorkerState.ONLINE) online++;
                if (event.to() == WorkerState.STOPPING) {
                    online--;
                    // a check slow enough to time out is a failure too
                    assertThat(event.reason(), matchesPattern(
                            "health check failed \\d+ times? in a row: (status 503|timed out after 900 ms) on GET /healthz: .*"));
                }
                assertThat("workers online after " + event, online >= 2, is(true));
                assertThat("workers online after " + event, online <= 3, is(true));
            }
        }
    }

    /**
     * A worker that takes no connection at all: each check's connection would stay among its
     * unacknowledged handoffs, a descriptor of the master's and a slot clients need. Its checks
     * fail, and it holds one check's connection at most.
     */
    @Test
    void aWorkerThatTakesNoConnectionHoldsOneHealthChecksConnectionAtMost() throws Exception {
        try (LogCapture log = LogCapture.of(Cluster.class);
             TestCluster herd = start(1, Map.of("health.interval", "1500ms", "health.timeout", "1s", "health.failures", "100"))) {
            long pid = herd.awaitOnline(1).workers().getFirst().pid();
            Worker worker = herd.cluster.call(() -> herd.cluster.instances().online().getFirst());
            Path stuck = dir.resolve("stuck-" + pid);
            Files.writeString(stuck, ""); // it takes the next connection (a check), then no other
            try {
                Await.until("four failed checks of the stuck worker", () -> log.warnings().stream()
                        .filter(line -> line.contains("health check failed")).count() >= 4, CHECKS_LIMIT);
                assertThat("health checks' connections it holds untaken", worker.unacknowledgedHealthChecks(), is(1L));
                assertThat(log.warnings(), hasItem(containsString("it has not yet taken its last health check's connection")));
            } finally {
                Files.delete(stuck);
            }
        }
    }

    /**
     * Checks the master cannot make (here: its loopback pairing, held by the test, takes longer
     * than the timeout, as it would with a loopback port kept busy or no descriptor left) are not
     * the workers' fault, but are said as an error once they last, and their end at INFO.
     */
    @Test
    void checksThatCannotBeMadeAreLoggedAsAnErrorOnceAndTheirRecoveryToo() throws Exception {
        try (LogCapture log = LogCapture.of(Cluster.class);
             TestCluster herd = start(1, Map.of("health.interval", "1500ms", "health.timeout", "1s", "health.failures", "1"))) {
            long pid = herd.awaitOnline(1).workers().getFirst().pid();
            ReentrantLock pairing = herd.cluster.httpHealth().probe().pairing;
            pairing.lock();
            try {
                Await.until("an error saying health checks are not being made", () -> log.lines().stream()
                        .anyMatch(line -> line.startsWith("SEVERE: whoami: health checks are not being made")), CHECKS_LIMIT);
                Await.until("a fourth check not made", () -> log.lines().stream()
                        .filter(line -> line.contains("no health check this time")).count() >= 4, CHECKS_LIMIT);
            } finally {
                pairing.unlock();
            }
            Await.until("checks made again, at INFO", () -> log.lines().stream()
                    .anyMatch(line -> line.startsWith("INFO: whoami: health checks are made again")), CHECKS_LIMIT);
            assertThat("the error is said once", log.lines().stream()
                    .filter(line -> line.contains("health checks are not being made")).count(), is(1L));
            assertThat("the worker was not replaced for checks the master could not make",
                    herd.info().workers().stream().map(WorkerInfo::pid).toList(), is(List.of(pid)));
        }
    }

    /**
     * A health replacement that throws (here: the event thread, which the test holds, does not
     * answer within the 30 s a step waits) ends as a failed operation: counted, its end published
     * (or status would show it running for ever), and no exception out of it.
     */
    @Test
    void aHealthReplacementThatThrowsEndsAsAFailedOperationCountedAndPublished() throws Exception {
        List<String> operations = new CopyOnWriteArrayList<>();
        CountDownLatch release = new CountDownLatch(1);
        try (TestCluster herd = start(1, Map.of())) {
            herd.awaitOnline(1);
            Worker worker = herd.cluster.call(() -> herd.cluster.instances().online().getFirst());
            herd.cluster.addOperationListener(event -> {
                operations.add(event.operation() + " " + event.phase());
                if (event.phase() == OperationEvent.Phase.STARTED) herd.cluster.post(() -> awaitQuietly(release));
            });
            Boolean replaced;
            try {
                replaced = herd.cluster.operations().replaceOne(worker, "healthRestart", "health restart of #0", "a test holds the event thread");
            } finally {
                release.countDown();
            }
            assertThat(replaced, is(false));
            assertThat(operations, is(List.of("health restart of #0 STARTED", "health restart of #0 FAILED")));
            herd.awaitInfo("the replacement counted as a healthRestart that failed", info -> info.operations().stream()
                    .anyMatch(stats -> stats.operation().equals("healthRestart") && stats.failed() == 1));
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            if (!latch.await(90, TimeUnit.SECONDS)) throw new IllegalStateException("the test never released the event thread");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One HTTP/1.1 GET on a new connection; the whole answer. */
    private static String get(int port, String path) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
