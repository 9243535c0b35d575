package io.herd.engine;

import io.herd.testapp.Reply;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.matchesPattern;

/** The restart policy with real worker JVMs: back-off, errored, and replacement under load. */
@Timeout(120)
class RestartTest {
    private static final Pattern PLANNED = Pattern.compile("restart (\\d+) in (\\d+) ms");

    @Test
    void aCrashLoopingWorkerEndsErroredWithGrowingDelaysWhileItsSiblingServes() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        Map<String, String> crashing = Map.of("env.WHOAMI_CRASH_INSTANCE", "0", "max.restarts", "4",
                "min.uptime", "5s", "restart.backoff", "20ms", "restart.delay.max", "1s");
        try (TestCluster herd = TestCluster.start(2, crashing)) {
            herd.cluster.addListener(event -> {
                if (event.instance() == 0) events.add(event);
            });
            herd.awaitInfo("instance 0 errored", info -> info.workers().stream().anyMatch(w -> w.instance() == 0 && w.state().equals("errored")));

            List<Long> delays = plannedDelays(events);
            assertThat("each restart waits longer than the one before: " + delays, isIncreasing(delays), is(true));
            assertThat(events.getLast().to(), is(WorkerState.ERRORED));
            assertThat(herd.info().online(), is(1));
            assertThat(Reply.ask(herd.port).instance(), is(1));
        }
    }

    /**
     * The chaos case of issue 14: workers that had served for a while, killed again and again,
     * are each restarted at once (restart.delay's default, 0) — the back-off is for crash loops,
     * not for them.
     */
    @Test
    void aWorkerKilledAgainAndAgainAfterServingMinUptimeIsRestartedEachTimeAtOnce() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = TestCluster.start(2, Map.of("min.uptime", "300ms"))) {
            herd.cluster.addListener(event -> {
                if (event.instance() == 0) events.add(event);
            });
            long previous = 0;
            for (int kill = 1; kill <= 4; kill++) {
                long before = previous;
                WorkerInfo served = herd.awaitInfo("instance 0's new worker online for min.uptime", info -> info.workers().stream()
                        .anyMatch(w -> w.instance() == 0 && w.pid() != before && w.state().equals("online") && w.uptimeMillis() >= 300))
                        .workers().stream().filter(w -> w.instance() == 0 && w.state().equals("online")).findFirst().orElseThrow();
                ProcessHandle.of(served.pid()).orElseThrow().destroyForcibly();
                previous = served.pid();
            }
            herd.awaitInfo("instance 0 restarted after the last kill, and online", info -> info.online() == 2
                    && info.workers().stream().anyMatch(w -> w.instance() == 0 && w.restarts() == 4 && w.state().equals("online")));

            assertThat("no restart waits", plannedDelays(events), contains(0L, 0L, 0L, 0L));
        }
    }

    /**
     * A worker that never came online is unstable however long it lived: a JVM that spends
     * min.uptime and more starting, then is killed at ready.timeout, backs off from
     * restart.backoff's default and ends errored, though a stable exit would restart at once.
     */
    @Test
    void aWorkerThatNeverComesOnlineIsUnstableHoweverLongItRan() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        Map<String, String> neverReady = Map.of("env.WHOAMI_READY_DELAY_MS", "600000", "ready.timeout", "800ms",
                "min.uptime", "100ms", "max.restarts", "3");
        try (TestCluster herd = TestCluster.start(1, neverReady)) {
            herd.cluster.addListener(events::add);
            herd.awaitInfo("the worker errored", info -> info.workers().stream().anyMatch(w -> w.state().equals("errored")));

            assertThat("the back-off grows over the unstable exits", plannedDelays(events), contains(100L, 150L, 225L));
            assertThat(events.getLast().to(), is(WorkerState.ERRORED));
            assertThat(events.getLast().reason(), containsString("crashed 4 times in a row, each before it had been online 100 ms"));
        }
    }

    /** The delays planned for restarts, as the workers' "waiting restart" reasons say them. */
    private static List<Long> plannedDelays(List<WorkerEvent> events) {
        List<Long> delays = new ArrayList<>();
        for (WorkerEvent event : events) {
            Matcher planned = PLANNED.matcher(event.reason());
            if (event.to() == WorkerState.WAITING_RESTART && planned.find()) delays.add(Long.parseLong(planned.group(2)));
        }
        return delays;
    }

    @Test
    void aWorkerOverMaxMemoryIsReplacedOneAtATimeWithItsReplacementReadyFirst() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        // Any JVM is over 1 MiB: every check replaces one worker.
        try (TestCluster herd = TestCluster.start(2, Map.of("max.memory", "1M", "memory.check.interval", "1s"))) {
            herd.awaitOnline(2);
            herd.cluster.addListener(events::add);
            herd.awaitInfo(info -> events.stream().filter(e -> e.to() == WorkerState.STOPPED).count() >= 2);

            List<WorkerEvent> stops = events.stream().filter(e -> e.to() == WorkerState.STOPPING).toList();
            assertThat(stops.getFirst().reason(), allOf(matchesPattern("uses \\d+ MiB, over max.memory \\(1 MiB\\): .*"),
                    endsWith("out of rotation; asked to drain")));
            // One at a time, replacement first: every stop is preceded by a replacement coming online.
            int online = 2;
            for (WorkerEvent event : events) {
                if (event.to() == WorkerState.ONLINE) online++;
                if (event.to() == WorkerState.STOPPING) online--;
                assertThat("workers online after " + event, online >= 2, is(true));
            }
            herd.awaitOnline(2);
        }
    }

    @Test
    void aWorkerThatCrashesDuringItsReloadLeavesOneWorkerForItsInstance() throws Exception {
        Map<String, String> slowStart = Map.of("env.WHOAMI_READY_DELAY_MS", "1500", "restart.delay", "50ms");
        try (TestCluster herd = TestCluster.start(1, slowStart)) {
            long old = herd.awaitOnline(1).workers().getFirst().pid();
            Thread reload = Thread.ofVirtual().start(herd.cluster::reload);
            herd.awaitInfo(info -> info.workers().size() == 2); // the replacement is starting
            ProcessHandle.of(old).orElseThrow().destroyForcibly(); // and the old worker crashes meanwhile
            reload.join();

            herd.awaitInfo("one worker, online", info -> info.workers().size() == 1 && info.online() == 1);
            assertThat(ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(), is(1L));
        }
    }

    @Test
    void restartWhileAnInstanceWaitsForItsRestartStartsOneWorkerPerInstance() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of("restart.delay", "400ms", "kill.timeout", "2s"))) {
            ClusterInfo before = herd.awaitOnline(2);
            ProcessHandle.of(before.workers().get(0).pid()).orElseThrow().destroyForcibly();
            herd.awaitInfo(info -> info.workers().stream().anyMatch(w -> w.state().equals("waiting restart")));
            // Instance 1 stops answering signals until SIGKILL, so restart() waits on it past the pending restart.
            new ProcessBuilder("kill", "-STOP", Long.toString(before.workers().get(1).pid())).start().waitFor();

            assertThat(herd.cluster.restart().succeeded(), is(true));

            ClusterInfo after = herd.awaitInfo("two workers, online", info -> info.workers().size() == 2 && info.online() == 2);
            assertThat(after.workers().stream().map(WorkerInfo::instance).toList(), contains(0, 1));
            assertThat(ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(), is(2L));
        }
    }

    private static boolean isIncreasing(List<Long> values) {
        for (int i = 1; i < values.size(); i++) if (values.get(i) <= values.get(i - 1)) return false;
        return values.size() >= 3;
    }

    @Test
    void aWorkerKilledUnderLoadIsReplacedAndNoConnectionIsRefused() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of())) {
            ClusterInfo before = herd.awaitOnline(2);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong answered = new AtomicLong();
            ConcurrentLinkedQueue<IOException> failures = new ConcurrentLinkedQueue<>();
            List<Thread> clients = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                clients.add(Thread.ofVirtual().start(() -> {
                    for (int n = 0; n < 1_000_000 && running.get(); n++) {
                        try {
                            Reply.ask(herd.port);
                            answered.incrementAndGet();
                        } catch (IOException e) {
                            failures.add(e);
                        }
                    }
                }));
            }
            Await.until("200 answers", answered::get, count -> count >= 200, Duration.ofSeconds(60));
            WorkerInfo victim = before.workers().getFirst();
            ProcessHandle.of(victim.pid()).orElseThrow().destroyForcibly();
            ClusterInfo after = herd.awaitInfo("the killed worker replaced", info -> info.online() == 2
                    && info.workers().stream().noneMatch(w -> w.pid() == victim.pid()));
            long answeredAtReplacement = answered.get();
            Await.until("200 answers after the replacement", answered::get, count -> count >= answeredAtReplacement + 200, Duration.ofSeconds(60));
            running.set(false);
            for (Thread client : clients) client.join();

            assertThat(after.workers(), hasSize(2));
            assertThat("refused connections", failures.stream().filter(ConnectException.class::isInstance).toList(), is(empty()));
            // Only what was in flight on the killed worker may fail: a handful, at most one per client.
            assertThat("failed requests", failures.size(), lessThanOrEqualTo(clients.size()));
        }
    }
}
