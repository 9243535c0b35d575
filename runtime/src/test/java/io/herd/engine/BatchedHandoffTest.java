package io.herd.engine;

import io.herd.testapp.HttpApp;
import io.herd.testapp.ProtocolPeer;
import io.herd.testapp.Reply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.aMapWithSize;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasEntry;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;

/**
 * Batched handoff (IPC 3): the connections the master accepts at one wake-up reach a worker
 * several to a HANDOFFS message, with every guarantee a single HANDOFF has: each is served once,
 * none is dropped, and none is lost when a worker dies with a batch unacknowledged. Real worker
 * JVMs on real sockets; the master's accept thread is held while the clients connect, so that a
 * burst arrives at one wake-up whatever the machine's load.
 */
@Timeout(120)
class BatchedHandoffTest {

    @Test
    void aBurstOfTwoHundredConnectionsIsAnsweredOnceEachAndNoneIsDropped() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of())) {
            herd.awaitOnline(2);

            List<Reply> replies = burst(herd, 200);

            assertThat(replies, hasSize(200));
            Map<Long, Long> perWorker = replies.stream().collect(Collectors.groupingBy(Reply::pid, Collectors.counting()));
            assertThat("the burst is spread over both workers", perWorker, is(aMapWithSize(2)));
            ClusterInfo info = herd.awaitInfo("the 200 handoffs acknowledged", i -> handedOff(i) >= 200);
            assertThat("handoffs the workers acknowledged, between them", handedOff(info), is(200L));
            assertThat(info.accepted(), is(200L));
            assertThat(info.dropped(), is(0L));
            assertThat(info.waiting(), is(0L));
        }
    }

    @Test
    void appThreadsAcceptingAtOnceAcknowledgeEachConnectionOnce() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of("env.WHOAMI_ACCEPTORS", "8"))) {
            herd.awaitOnline(2);

            List<Reply> replies = burst(herd, 200);

            assertThat(replies, hasSize(200));
            // Their ACKs share messages (ACKS) when they meet: each id is still named once, and the master counts it once.
            ClusterInfo info = herd.awaitInfo("the 200 handoffs acknowledged and closed", i -> handedOff(i) >= 200 && i.open() == 0);
            assertThat("handoffs the workers acknowledged, between them", handedOff(info), is(200L));
            assertThat(info.dropped(), is(0L));
        }
    }

    @Test
    void aWorkerThatAcknowledgesABatchInOneAcksHasEachConnectionCounted(@TempDir Path launches) throws Exception {
        try (TestCluster herd = TestCluster.start(2, peer("acks", launches))) {
            ClusterInfo online = herd.awaitOnline(2);
            long peer = pidOf(online, 0);

            List<Reply> replies = burst(herd, 20);

            Map<Long, Long> perWorker = replies.stream().collect(Collectors.groupingBy(Reply::pid, Collectors.counting()));
            assertThat("the peer answered its chunk", perWorker, hasEntry(peer, 10L));
            ClusterInfo info = herd.awaitInfo("the 20 handoffs acknowledged", i -> handedOff(i) >= 20);
            assertThat("handoffs the peer acknowledged, in one ACKS", instanceOf(info, peer).handedOff(), is(10L));
            assertThat("its restarts", instanceOf(info, peer).restarts(), is(0));
        }
    }

    @Test
    void aWorkerThatDiesMidBatchLosesNoneOfItsConnections(@TempDir Path launches) throws Exception {
        try (TestCluster herd = TestCluster.start(2, peer("batch-then-die", launches))) {
            ClusterInfo online = herd.awaitOnline(2);
            long peer = pidOf(online, 0);
            long sibling = pidOf(online, 1);

            List<Reply> replies = burst(herd, 20);

            Path batch = launches.resolve("handoffs-" + peer);
            assertThat("the peer got a HANDOFFS", Files.exists(batch), is(true));
            assertThat("connections in the peer's HANDOFFS", Integer.parseInt(Files.readString(batch)), is(greaterThanOrEqualTo(2)));
            Map<Long, Long> perWorker = replies.stream().collect(Collectors.groupingBy(Reply::pid, Collectors.counting()));
            // The peer served the first of its batch; the one it refused and the ones it died with went to its sibling.
            assertThat(perWorker, hasEntry(peer, 1L));
            assertThat(perWorker, hasEntry(sibling, 19L));
            assertThat(herd.info().dropped(), is(0L));
        }
    }

    @Test
    void aStuckWorkerKilledWithABatchUnacknowledgedLosesNoneOfIt(@TempDir Path dir) throws Exception {
        Map<String, String> settings = Map.of("main", HttpApp.class.getName(), "env.HTTPAPP_DIR", dir.toString(), "restart.delay", "50ms");
        try (TestCluster herd = TestCluster.start(2, settings)) {
            ClusterInfo online = herd.awaitOnline(2);
            long victim = pidOf(online, 0);
            long sibling = pidOf(online, 1);
            // Stuck, it takes one more connection, then none: what is handed to it stays unacknowledged.
            Files.createFile(dir.resolve("stuck-" + victim));
            int asked = 0;
            while (pidOfAnswer(get(herd.port)) != victim) {
                if (++asked == 10) throw new AssertionError("10 connections in turn, none to instance 0 (pid " + victim + ")");
            }

            long siblingsBefore = instanceOf(herd.info(), sibling).handedOff();

            List<String> answers = new ArrayList<>();
            try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<String>> asking = new ArrayList<>();
                try (var _ = herd.holdAccepting()) {
                    for (int i = 0; i < 20; i++) {
                        Socket socket = connect(herd.port);
                        asking.add(clients.submit(() -> get(socket)));
                    }
                }
                // Each got a chunk of 10: the sibling serves its own, the victim's wait unacknowledged until it dies.
                herd.awaitInfo("the sibling's chunk acknowledged", info -> instanceOf(info, sibling).handedOff() >= siblingsBefore + 10);
                ProcessHandle.of(victim).orElseThrow().destroyForcibly();
                for (Future<String> answer : asking) answers.add(answer.get(60, TimeUnit.SECONDS));
            }

            assertThat(answers, hasSize(20));
            assertThat("who answered", answers.stream().map(BatchedHandoffTest::pidOfAnswer).toList(), everyItem(is(sibling)));
            assertThat(herd.info().dropped(), is(0L));
        }
    }

    /**
     * Connects {@code clients} clients while the master's accept thread is held, each sending its
     * question at once, then lets the thread accept them all at one wake-up; returns the answers.
     */
    static List<Reply> burst(TestCluster herd, int clients) throws Exception {
        List<Reply.Asker> askers = new ArrayList<>();
        try (ExecutorService asking = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Reply>> replies = new ArrayList<>();
            try (var _ = herd.holdAccepting()) {
                for (int i = 0; i < clients; i++) askers.add(new Reply.Asker(herd.port));
                for (Reply.Asker asker : askers) replies.add(asking.submit((Callable<Reply>) asker::ask));
            }
            List<Reply> answered = new ArrayList<>();
            for (Future<Reply> reply : replies) answered.add(reply.get(60, TimeUnit.SECONDS));
            return answered;
        } finally {
            for (Reply.Asker asker : askers) asker.close();
        }
    }

    /** Instance 0 is a {@link ProtocolPeer} in {@code mode}; instance 1 a {@link io.herd.testapp.WhoAmI}. */
    private static Map<String, String> peer(String mode, Path launches) {
        return Map.of("main", ProtocolPeer.class.getName(), "env.PEER_INSTANCE", "0", "env.PEER_MODE", mode,
                "env.PEER_LAUNCHES", launches.toString(), "restart.delay", "50ms");
    }

    private static Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        socket.setSoTimeout(60_000);
        return socket;
    }

    private static String get(int port) throws IOException {
        return get(connect(port));
    }

    /** One GET to {@link HttpApp}, which answers {@code <instance> <pid>} and closes the connection. */
    private static String get(Socket socket) throws IOException {
        try (socket) {
            socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: herd\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (!response.startsWith("HTTP/1.1 200")) throw new IOException("not a 200: " + response);
            return response.substring(response.indexOf("\r\n\r\n") + 4).strip();
        }
    }

    private static long pidOfAnswer(String answer) {
        return Long.parseLong(answer.split(" ")[1]);
    }

    private static long handedOff(ClusterInfo info) {
        return info.workers().stream().mapToLong(WorkerInfo::handedOff).sum();
    }

    private static long pidOf(ClusterInfo info, int instance) {
        return info.workers().stream().filter(w -> w.instance() == instance).findFirst()
                .orElseThrow(() -> new AssertionError("no instance " + instance + " in " + info)).pid();
    }

    private static WorkerInfo instanceOf(ClusterInfo info, long pid) {
        return info.workers().stream().filter(w -> w.pid() == pid).findFirst()
                .orElseThrow(() -> new AssertionError("no worker of pid " + pid + " in " + info));
    }
}
