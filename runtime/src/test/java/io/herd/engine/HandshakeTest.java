package io.herd.engine;

import io.herd.ipc.Protocol;
import io.herd.testapp.Echo;
import io.herd.testapp.ProtocolPeer;
import io.herd.testapp.Reply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * The IPC handshake against the master, with workers of other herd-sdk versions
 * ({@link ProtocolPeer}, real JVMs on real channels): one the master cannot speak to is refused
 * once, with one clear line, and not restarted; a newer one's optional messages are skipped.
 */
@Timeout(120)
class HandshakeTest {
    private static final String NEEDED = "this herd needs IPC " + Protocol.OLDEST + " to " + Protocol.VERSION;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            ipc1      | refused: it sent READY before any HELLO, so its herd-sdk is from before the IPC handshake (IPC 1); %2$s: rebuild the app with herd-sdk ≥ %1$s
            too-old   | refused: its herd-sdk 0.0.9 speaks IPC 1; %2$s: rebuild the app with herd-sdk ≥ %1$s
            too-new   | refused: its herd-sdk 9.9.9 speaks IPC %6$s to %7$s; this herd (%3$s) speaks IPC %4$s to %5$s: run the app under a newer herd, or rebuild it with herd-sdk %3$s
            """)
    void aWorkerWhoseSdkSpeaksNoVersionOfTheMastersIsErroredWithOneClearLineAndNotRestarted(String mode, String reasonTemplate,
                                                                                          @TempDir Path launches) throws Exception {
        String reason = reasonTemplate.formatted(Protocol.FIRST_SDK_SPEAKING_OLDEST, NEEDED, Protocol.HERD_VERSION,
                Protocol.OLDEST, Protocol.VERSION, Protocol.VERSION + 1, Protocol.VERSION + 5);
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (LogCapture clusterLog = LogCapture.of(Cluster.class); LogCapture workerLog = LogCapture.of(Worker.class);
             TestCluster herd = TestCluster.start(2, peer(mode, launches))) {
            herd.cluster.addListener(events::add);
            ClusterInfo seen = awaitInfo(herd, "instance 0 errored, instance 1 online",
                    info -> state(info, 0).equals("errored") && state(info, 1).equals("online"));

            assertThat("restarts of the refused instance", instance(seen, 0).restarts(), is(0));
            assertThat("launches of the refused instance", launchesIn(launches), is(1L));
            assertThat(events.stream().filter(event -> event.to() == WorkerState.ERRORED).map(WorkerEvent::reason).toList(), contains(reason));
            List<String> lines = Stream.concat(clusterLog.warnings().stream(), workerLog.warnings().stream())
                    .filter(line -> line.contains("#0")).toList();
            assertThat("what the log says of the refused worker", lines, hasSize(1));
            assertThat(lines.getFirst(), endsWith("stopped -> errored: " + reason));
            long sibling = instance(seen, 1).pid();
            for (int i = 0; i < 10; i++) assertThat(Reply.ask(herd.port).pid(), is(sibling));
            assertThat("its sibling's restarts", instance(herd.info(), 1).restarts(), is(0));
        }
    }

    @Test
    void aReloadWhoseReplacementIsRefusedStopsWithTheReasonAndTheOldWorkerKeepsServing(@TempDir Path launches) throws Exception {
        try (TestCluster herd = TestCluster.start(1, peer("serve-then-ipc1", launches))) {
            long old = instance(awaitInfo(herd, "the first worker online", info -> info.online() == 1), 0).pid();

            OperationResult reload = herd.cluster.reload();

            assertThat(reload.toString(), reload.succeeded(), is(false));
            assertThat(reload.workers().getFirst().outcome(), containsString("before any HELLO, so its herd-sdk is from before the IPC handshake (IPC 1); "
                    + NEEDED + ": rebuild the app with herd-sdk ≥ " + Protocol.FIRST_SDK_SPEAKING_OLDEST));
            assertThat("launches: the first worker and its refused replacement", launchesIn(launches), is(2L));
            ClusterInfo after = herd.info();
            assertThat(state(after, 0), is("online"));
            assertThat(instance(after, 0).pid(), is(old));
            assertThat(instance(after, 0).restarts(), is(0));
            for (int i = 0; i < 5; i++) assertThat(Reply.ask(herd.port).pid(), is(old));
        }
    }

    @Test
    void aNewerWorkersUnknownOptionalMessagesAreSkippedAndItKeepsServing(@TempDir Path launches) throws Exception {
        try (LogCapture workerLog = LogCapture.of(Worker.class); TestCluster herd = TestCluster.start(1, peer("optional", launches))) {
            ClusterInfo online = awaitInfo(herd, "the newer worker online", info -> info.online() == 1);
            long peer = instance(online, 0).pid();
            for (int i = 0; i < 20; i++) assertThat(Reply.ask(herd.port).pid(), is(peer));

            // A handoff counts once the master has read its ACK, which may come after the reply did.
            ClusterInfo after = awaitInfo(herd, "the 20 handoffs acknowledged", info -> instance(info, 0).handedOff() >= 20);
            assertThat(state(after, 0), is("online"));
            assertThat(instance(after, 0).pid(), is(peer));
            assertThat(instance(after, 0).handedOff(), is(greaterThanOrEqualTo(20L)));
            assertThat(launchesIn(launches), is(1L));
            assertThat(workerLog.warnings(), is(empty()));
        }
    }

    @Test
    void anUnknownMessageNotMarkedOptionalIsStillRefusedAndTheWorkerRestarted(@TempDir Path launches) throws Exception {
        try (LogCapture workerLog = LogCapture.of(Worker.class); TestCluster herd = TestCluster.start(1, peer("mandatory", launches))) {
            awaitInfo(herd, "the worker restarted after its unknown message",
                    info -> instance(info, 0).restarts() >= 1);
            assertThat(workerLog.warnings(), hasItem(containsString(
                    "IPC channel failed, stopping the worker: java.net.ProtocolException: refused an IPC message from the worker: unknown message type "
                            + ProtocolPeer.UNKNOWN_TYPE + ", not marked optional")));
            assertThat(workerLog.warnings(), everyItem(containsString("IPC channel failed")));
        }
    }

    @Test
    void aWorkerThatConnectsButNeverSaysHelloIsKilledAtTheReadyTimeoutAndRestarted(@TempDir Path launches) throws Exception {
        Map<String, String> settings = new java.util.HashMap<>(peer("silent", launches));
        settings.put("ready.timeout", "1s");
        try (LogCapture clusterLog = LogCapture.of(Cluster.class); TestCluster herd = TestCluster.start(1, settings)) {
            awaitInfo(herd, "the silent worker restarted", info -> instance(info, 0).restarts() >= 1);
            assertThat(clusterLog.warnings(), hasItem(containsString("opened its IPC channel but never said HELLO within 1000 ms: killing it")));
        }
    }

    @Test
    void anAppWithoutTheSdkRunInHandoffDispatchIsToldItNeedsProxyDispatch() throws Exception {
        Map<String, String> settings = Map.of("main", Echo.class.getName(), "env.PORT", "0", "ready.timeout", "1s", "restart.delay", "50ms");
        try (LogCapture clusterLog = LogCapture.of(Cluster.class); LogCapture workerLog = LogCapture.of(Worker.class);
             TestCluster herd = TestCluster.start(1, settings)) {
            awaitInfo(herd, "the app without the SDK killed and restarted", info -> instance(info, 0).restarts() >= 1);
            List<String> aboutItsChannel = Stream.concat(clusterLog.warnings().stream(), workerLog.warnings().stream())
                    .filter(warning -> warning.contains("IPC channel")).toList();
            // Once for each launch: the ready timeout says it, and the channel's own wait stays quiet.
            assertThat(aboutItsChannel, is(not(empty())));
            assertThat(aboutItsChannel, everyItem(containsString(
                    "never opened its IPC channel (an app without herd-sdk needs dispatch = proxy) within 1000 ms: killing it")));
        }
    }

    @Test
    void anIpc2WorkerGetsSingleHandoffsAndServesABurst(@TempDir Path launches) throws Exception {
        try (TestCluster herd = TestCluster.start(1, peer("ipc2", launches))) {
            long peer = instance(awaitInfo(herd, "the IPC-2 worker online", info -> info.online() == 1), 0).pid();

            // Held, the master accepts the burst at one wake-up: to an IPC-3 worker that would be HANDOFFS.
            List<Reply> replies = BatchedHandoffTest.burst(herd, 100);

            assertThat(replies, hasSize(100));
            assertThat("who answered", replies.stream().map(Reply::pid).distinct().toList(), contains(peer));
            assertThat("launches of the IPC-2 worker (a HANDOFFS makes it exit)", launchesIn(launches), is(1L));
            assertThat(instance(herd.info(), 0).restarts(), is(0));
        }
    }

    /** Instance 0 is a {@link ProtocolPeer} in {@code mode}, restarted fast and as often as it takes. */
    private static Map<String, String> peer(String mode, Path launches) {
        return Map.of("main", ProtocolPeer.class.getName(), "env.PEER_INSTANCE", "0", "env.PEER_MODE", mode,
                "env.PEER_LAUNCHES", launches.toString(), "restart.delay", "50ms", "restart.delay.max", "100ms", "max.restarts", "1000");
    }

    /** Waits (bounded) for {@code condition}; fails, saying what it waited for and saw last, when it does not come. */
    private static ClusterInfo awaitInfo(TestCluster herd, String what, Predicate<ClusterInfo> condition) throws InterruptedException {
        ClusterInfo seen = TestCluster.await(herd::info, condition, Duration.ofSeconds(60));
        if (!condition.test(seen)) throw new AssertionError("waited 60 s for " + what + "; saw " + seen);
        return seen;
    }

    private static long launchesIn(Path launches) throws Exception {
        try (Stream<Path> files = Files.list(launches)) {
            return files.count();
        }
    }

    private static WorkerInfo instance(ClusterInfo info, int instance) {
        return info.workers().stream().filter(w -> w.instance() == instance).findFirst()
                .orElseThrow(() -> new AssertionError("no instance " + instance + " in " + info));
    }

    private static String state(ClusterInfo info, int instance) {
        return info.workers().stream().filter(w -> w.instance() == instance).map(WorkerInfo::state).findFirst().orElse("none");
    }
}
