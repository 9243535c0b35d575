package io.herd.engine;

import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * Rolling reloads with reload.surge, on real worker JVMs: replacements run up to the surge at
 * once, each old worker leaves as its replacement comes online, and the workers online never drop
 * below the app's size. WhoAmI's gate ({@code WHOAMI_GATE}) holds or crashes chosen replacements,
 * so each test sees the order of events it asserts, whatever the machine's speed.
 */
@Timeout(180)
class ReloadSurgeTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private Path gate;

    @BeforeEach
    void gate() throws Exception {
        gate = Files.createTempDirectory("herd-gate-");
    }

    @AfterEach
    void removeGate() throws Exception {
        try (Stream<Path> files = Files.walk(gate)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(file);
        }
    }

    /**
     * The fewest workers online seen, counted from the workers' own state changes on the event
     * thread: every change is seen, in order, however brief.
     */
    private static final class Capacity implements Consumer<WorkerEvent> {
        private int online;
        private int fewest;

        Capacity(int online) {
            this.online = online;
            this.fewest = online;
        }

        @Override
        public synchronized void accept(WorkerEvent event) {
            if (event.to() == WorkerState.ONLINE) online++;
            else if (event.from() == WorkerState.ONLINE) online--;
            fewest = Math.min(fewest, online);
        }

        synchronized int fewest() {
            return fewest;
        }
    }

    /** The instances whose old worker (one of {@code before}) has left rotation. */
    private static Set<Integer> swappedOut(List<WorkerEvent> events, ClusterInfo before) {
        Set<Long> old = before.workers().stream().map(WorkerInfo::pid).collect(Collectors.toSet());
        return events.stream().filter(e -> e.to() == WorkerState.STOPPING && old.contains(e.pid())).map(WorkerEvent::instance)
                .collect(Collectors.toSet());
    }

    /**
     * Instance 0's replacement is held back: with room for two replacements at once, instances 1
     * and 2 are replaced meanwhile, one after the other — a rolling window, not batches, which
     * would wait for instance 0. 34% of 3 workers rounds up to 2.
     */
    @ParameterizedTest
    @ValueSource(strings = {"2", "34%"})
    void aReloadRollsUpToItsSurgeAtOnceAndNeverDropsBelowTheAppsSize(String surge) throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = TestCluster.start(3, Map.of("reload.surge", surge, "env.WHOAMI_GATE", gate.toString()))) {
            ClusterInfo before = herd.awaitOnline(3);
            Capacity capacity = new Capacity(3);
            herd.cluster.addListener(capacity);
            herd.cluster.addListener(events::add);
            Files.createFile(gate.resolve("hold-0"));

            CompletableFuture<OperationResult> reload = CompletableFuture.supplyAsync(herd.cluster::reload);
            Await.until("instances 1 and 2 replaced while instance 0's replacement is held", () -> swappedOut(events, before),
                    swapped -> swapped.equals(Set.of(1, 2)), LIMIT);
            assertThat("instance 0's old worker still serves", swappedOut(events, before), is(Set.of(1, 2)));
            Files.delete(gate.resolve("hold-0"));
            OperationResult result = reload.get(LIMIT.toSeconds(), TimeUnit.SECONDS);

            assertThat(result.toString(), result.succeeded(), is(true));
            assertThat(result.workers().stream().map(OperationResult.Step::outcome).toList(), contains("replaced", "replaced", "replaced"));
            assertThat("workers online during the reload, at the fewest", capacity.fewest(), is(3));
            assertThat(herd.awaitOnline(3).workers().stream().map(WorkerInfo::pid).noneMatch(pid -> before.workers().stream()
                    .anyMatch(old -> old.pid() == pid)), is(true));
            assertThat(result.durationMillis(), greaterThan(0L));
            assertThat(result.toString(), startsWith("reload: replaced 3 workers in " + result.durationMillis() + " ms"));
        }
    }

    /**
     * Two replacements start (66% of 3 rounds up to 2): instance 1's crashes while instance 0's is
     * held. The reload stops: instance 2 is not attempted, instance 1's old worker keeps serving,
     * and instance 0's replacement, already starting, still takes its place once ready.
     */
    @ParameterizedTest
    @ValueSource(strings = {"2", "66%"})
    void aReplacementThatFailsStopsTheReloadAndThoseAlreadyStartedStillSwap(String surge) throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = TestCluster.start(3, Map.of("reload.surge", surge, "env.WHOAMI_GATE", gate.toString(),
                "restart.delay", "10ms"))) {
            ClusterInfo before = herd.awaitOnline(3);
            Capacity capacity = new Capacity(3);
            herd.cluster.addListener(capacity);
            herd.cluster.addListener(events::add);
            Files.createFile(gate.resolve("hold-0"));
            Files.createFile(gate.resolve("crash-1"));

            CompletableFuture<OperationResult> reload = CompletableFuture.supplyAsync(herd.cluster::reload);
            long oldOne = before.workers().get(1).pid();
            Await.until("instance 1's replacement crashed", () -> events.stream().anyMatch(e -> e.instance() == 1 && e.pid() != oldOne
                    && e.to() == WorkerState.STOPPED), LIMIT);
            Files.delete(gate.resolve("hold-0"));
            OperationResult result = reload.get(LIMIT.toSeconds(), TimeUnit.SECONDS);

            assertThat(result.toString(), result.succeeded(), is(false));
            assertThat(result.message(), startsWith("stopped at instance 1: its replacement exited with exit code 3"));
            List<String> outcomes = result.workers().stream().map(OperationResult.Step::outcome).toList();
            assertThat(outcomes.get(0), is("replaced"));
            assertThat(outcomes.get(1), startsWith("failed: the replacement exited with exit code 3"));
            assertThat(outcomes.get(2), is("not attempted"));
            assertThat("workers online during the reload, at the fewest", capacity.fewest(), is(3));
            assertThat(result.durationMillis(), greaterThan(0L));
            assertThat(result.toString(), containsString("(after " + result.durationMillis() + " ms)"));

            ClusterInfo after = herd.awaitOnline(3);
            assertThat(after.workers().stream().map(WorkerInfo::pid).toList().subList(1, 3),
                    is(before.workers().stream().map(WorkerInfo::pid).toList().subList(1, 3)));
            assertThat(after.workers().getFirst().pid(), is(result.workers().getFirst().newPid()));
        }
    }
}
