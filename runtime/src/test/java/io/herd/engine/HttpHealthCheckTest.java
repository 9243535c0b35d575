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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;

/**
 * HTTP health checks with real worker JVMs ({@link HttpApp}, whose health path each test makes
 * hang, fail or pass per worker), in handoff and proxy dispatch.
 */
@Timeout(120)
class HttpHealthCheckTest {
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
        try (TestCluster herd = start(2, Map.of("health.interval", "1500ms", "health.timeout", "1s", "health.failures", "2"))) {
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
            ClusterInfo after = herd.awaitInfo("the hanging worker replaced, and two workers online", info -> info.online() == 2
                    && info.workers().stream().noneMatch(worker -> worker.pid() == hanging));
            loading.set(false);
            load.join(30_000);

            assertThat("client requests that failed", failures, is(List.of()));
            assertThat(answered.get(), greaterThan(0L));
            assertThat("the healthy worker stays", after.workers().stream().anyMatch(worker -> worker.pid() == healthy), is(true));
            WorkerEvent stop = events.stream().filter(e -> e.pid() == hanging && e.to() == WorkerState.STOPPING).findFirst().orElseThrow();
            assertThat(stop.reason(), containsString("health check failed 2 times in a row: timed out after 1 s on GET /healthz"));
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
        try (TestCluster herd = start(1, Map.of("dispatch", "proxy", "health.interval", "500ms", "health.timeout", "400ms",
                "health.failures", "2"))) {
            long failing = herd.awaitOnline(1).workers().getFirst().pid();
            herd.cluster.addListener(events::add);
            Files.writeString(dir.resolve("health-" + failing), "F");

            herd.awaitInfo("the failing worker replaced", info -> info.online() == 1
                    && info.workers().stream().noneMatch(worker -> worker.pid() == failing));

            WorkerEvent stop = events.stream().filter(e -> e.pid() == failing && e.to() == WorkerState.STOPPING).findFirst().orElseThrow();
            assertThat(stop.reason(), containsString("health check failed 2 times in a row: status 503 on GET /healthz"));
            herd.awaitInfo("the replacement counted as a healthRestart that succeeded", info -> info.operations().stream()
                    .anyMatch(stats -> stats.operation().equals("healthRestart") && stats.succeeded() == 1));
            assertThat("the check reached the worker's own port over loopback", Files.readAllLines(dir.resolve("seen-" + failing)),
                    everyItem(matchesPattern("GET /healthz HTTP/1\\.1\\|localhost\\|herd-health\\|close\\|/127\\.0\\.0\\.1:\\d+")));
        }
    }

    /**
     * Its health path fails twice, passes once, and again: never three failures in a row. Not
     * replaced, and the checks, handed to it as clients' connections are, are not counted as
     * clients'. Its spare is never checked.
     */
    @Test
    void aWorkerThatRecoversBeforeItsFailuresAddUpIsNotReplacedAndItsChecksAreNotCountedAsClients() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = start(1, Map.of("spares", "1", "health.url", "http://health.example:8080/healthz?from=herd",
                "health.interval", "600ms", "health.timeout", "500ms", "health.failures", "3"))) {
            ClusterInfo before = herd.awaitInfo("one worker online and a spare",
                    info -> info.online() == 1 && info.workers().stream().anyMatch(worker -> worker.state().equals("spare")));
            herd.cluster.addListener(events::add);
            long flaky = before.workers().stream().filter(worker -> worker.state().equals("online")).findFirst().orElseThrow().pid();
            long spare = before.workers().stream().filter(worker -> worker.state().equals("spare")).findFirst().orElseThrow().pid();
            Files.writeString(dir.resolve("health-" + flaky), "FFP");
            Path seen = dir.resolve("seen-" + flaky);

            Await.until("eight checks of the flaky worker, or a move of it", () -> !events.isEmpty()
                    || Files.exists(seen) && Files.readAllLines(seen).size() >= 8, Duration.ofSeconds(60));

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
             TestCluster herd = start(2, Map.of("health.interval", "200ms", "health.timeout", "150ms", "health.failures", "1"))) {
            herd.awaitOnline(2);
            herd.cluster.addListener(events::add);
            Files.writeString(dir.resolve("health-all"), "F");
            Await.until("a replacement failing too, twice", () -> log.warnings().stream()
                    .filter(line -> line.contains("its replacement fails it too")).count() >= 2, Duration.ofSeconds(60));
            List<String> backoffs = log.warnings().stream().filter(line -> line.contains("its replacement fails it too"))
                    .map(line -> line.substring(line.indexOf("the next replacement waits"))).toList();
            assertThat(backoffs.subList(0, 2), is(List.of("the next replacement waits 400 ms", "the next replacement waits 800 ms")));
            Files.delete(dir.resolve("health-all"));
            herd.awaitOnline(2);
            // One at a time, replacement first: never fewer than two online, never two replacements' old workers stopping at once.
            int online = 2;
            for (WorkerEvent event : events) {
                if (event.to() == WorkerState.ONLINE) online++;
                if (event.to() == WorkerState.STOPPING) {
                    online--;
                    assertThat(event.reason(), matchesPattern("health check failed \\d+ times? in a row: status 503 on GET /healthz: .*"));
                }
                assertThat("workers online after " + event, online >= 2, is(true));
                assertThat("workers online after " + event, online <= 3, is(true));
            }
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
