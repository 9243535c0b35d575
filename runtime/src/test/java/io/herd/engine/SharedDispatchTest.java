package io.herd.engine;

import io.herd.ipc.Protocol;
import io.herd.testapp.HttpApp;
import io.herd.testapp.ProtocolPeer;
import io.herd.testapp.Reply;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code dispatch = shared} on the engine: real worker JVMs accepting from the app's listening
 * socket themselves, the master supervising. What stays in the kernel's queue is read from
 * /proc/net/tcp: a listening socket's rx_queue is its queue of connections not yet accepted.
 */
@Timeout(120)
class SharedDispatchTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void roundTripsGoToBothWorkersWhichCountTheirConnectionsFromTheirReports() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of("dispatch", "shared"))) {
            ClusterInfo online = herd.awaitOnline(2);
            assertThat(online.dispatch(), is("shared"));
            Set<Long> workers = Set.of(online.workers().get(0).pid(), online.workers().get(1).pid());
            // A worker accepts once it has read its LISTENER and started its thread: on a loaded
            // machine the first connections may all go to the other. Each connection is one round trip.
            Set<Long> servedBy = new HashSet<>();
            AtomicInteger requests = new AtomicInteger();
            Await.until("both workers to serve a connection", () -> {
                servedBy.add(Reply.ask(herd.port).pid());
                return requests.incrementAndGet() >= 100 && servedBy.size() == 2;
            }, WAIT);

            assertThat("the workers that served", servedBy, is(workers));
            ClusterInfo counted = herd.awaitInfo("every connection reported accepted and closed",
                    info -> info.accepted() == requests.get() && info.open() == 0 && handedOff(info) == requests.get());
            assertThat("open connections per worker", counted.workers().stream().map(WorkerInfo::open).toList(), everyItem(is(0L)));
            assertThat("connections the master placed or held", List.of(counted.waiting(), counted.dropped()), contains(0L, 0L));
        }
    }

    /**
     * A spare waits out of rotation: it is passed no listening socket, so it takes no connection,
     * until it takes a place; then it is passed one, and serves.
     */
    @Test
    void aSpareAcceptsNothingUntilItTakesAPlace() throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of("dispatch", "shared", "spares", "1"))) {
            ClusterInfo ready = herd.awaitInfo("one worker online and one spare", info -> info.online() == 1 && info.spares() == 1);
            long serving = pidIn(ready, "online");
            long spare = pidIn(ready, "spare");
            for (int i = 0; i < 50; i++) assertThat(Reply.ask(herd.port).pid(), is(serving));
            ClusterInfo counted = herd.awaitInfo("the 50 connections reported", info -> handedOff(info) == 50);
            assertThat("the spare's connections", counted.workers().stream().filter(worker -> worker.pid() == spare)
                    .map(WorkerInfo::handedOff).toList(), contains(0L));

            ProcessHandle.of(serving).orElseThrow().destroyForcibly();
            herd.awaitInfo("the spare online in its place", info -> info.workers().stream()
                    .anyMatch(worker -> worker.pid() == spare && worker.state().equals("online")));
            assertThat("who answers now", Reply.ask(herd.port).pid(), is(spare));
        }
    }

    /**
     * Connections none of the app's threads asks for stay in the kernel's queue (the master
     * holds none of them), and a worker leaving loses none of them: the master's copy of the
     * socket keeps them for the worker left, which serves every one once it accepts again.
     */
    @Test
    void connectionsWaitingInTheQueueWhenAWorkerLeavesAreServedByTheOther() throws Exception {
        int waiting = 50;
        Map<String, String> settings = Map.of("dispatch", "shared", "main", HttpApp.class.getName(), "env.HTTPAPP_DIR", dir.toString());
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
        try (TestCluster herd = TestCluster.start(2, settings)) {
            ClusterInfo online = herd.awaitOnline(2);
            long staying = pidOf(online, 0);
            long leaving = pidOf(online, 1);
            // Stuck, each takes the one connection its app is waiting for, and asks for no more.
            for (long pid : List.of(staying, leaving)) Files.createFile(dir.resolve("stuck-" + pid));
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 2; i++) answers.add(clients.submit(() -> get(herd.port)));
            for (int i = 0; i < 2; i++) assertThat(answers.get(i).get(30, TimeUnit.SECONDS), startsWith("HTTP/1.1 200 OK"));
            List<Future<String>> queued = new ArrayList<>();
            for (int i = 0; i < waiting; i++) queued.add(clients.submit(() -> get(herd.port)));
            Await.until("the " + waiting + " connections queued in the listening socket", () -> acceptQueue(herd.port), queue -> queue == waiting, WAIT);

            assertThat(herd.cluster.scale(1).succeeded(), is(true)); // instance 1 leaves: its copy of the socket closes
            herd.awaitInfo("the leaving worker gone", info -> info.workers().stream().noneMatch(worker -> worker.pid() == leaving));
            assertThat("connections still queued once it left", acceptQueue(herd.port), is(waiting));
            Files.delete(dir.resolve("stuck-" + staying));

            for (Future<String> answer : queued) assertThat(answer.get(30, TimeUnit.SECONDS), startsWith("HTTP/1.1 200 OK"));
            assertThat("the answers, each from the worker that stayed", queued.stream().map(SharedDispatchTest::body).distinct().toList(),
                    contains("0 " + staying));
        } finally {
            clients.shutdownNow();
        }
    }

    /** Health checks still go to each worker as handoffs, and reach an app whose shared listener is idle. */
    @Test
    void healthChecksStillReachEachWorker() throws Exception {
        // failures = 100: a check slow on a loaded machine must not get a worker replaced mid-test
        Map<String, String> settings = Map.of("dispatch", "shared", "main", HttpApp.class.getName(), "env.HTTPAPP_DIR", dir.toString(),
                "health.url", "/healthz", "health.interval", "500ms", "health.timeout", "400ms", "health.failures", "100");
        try (TestCluster herd = TestCluster.start(2, settings)) {
            ClusterInfo online = herd.awaitOnline(2);
            for (WorkerInfo worker : online.workers()) {
                Path seen = dir.resolve("seen-" + worker.pid());
                Await.until("2 health checks seen by " + worker.pid(), () -> Files.exists(seen) && Files.readAllLines(seen).size() >= 2, WAIT);
            }
        }
    }

    /** An SDK that speaks IPC 2 knows no LISTENER: it would wait for handoffs for ever. It is refused, once, saying why. */
    @Test
    void aWorkerWhoseSdkSpeaksIpc2InASharedAppIsErroredWithOneClearLineAndNotRestarted() throws Exception {
        Path launches = Files.createDirectory(dir.resolve("launches"));
        Map<String, String> settings = Map.of("dispatch", "shared", "main", ProtocolPeer.class.getName(),
                "env.PEER_INSTANCE", "0", "env.PEER_MODE", "ipc2", "env.PEER_LAUNCHES", launches.toString());
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        try (TestCluster herd = TestCluster.start(2, settings)) {
            herd.cluster.addListener(events::add);
            ClusterInfo seen = herd.awaitInfo("instance 0 errored, instance 1 online",
                    info -> stateOf(info, 0).equals("errored") && stateOf(info, 1).equals("online"));

            String reason = "refused: app.whoami.dispatch = shared needs herd-sdk speaking IPC 3 (herd-sdk " + Protocol.HERD_VERSION
                    + "); this worker's herd-sdk 0.1.0 speaks IPC 2: rebuild the app, or use dispatch = handoff";
            assertThat(events.stream().filter(event -> event.to() == WorkerState.ERRORED).map(WorkerEvent::reason).toList(), contains(reason));
            assertThat("launches of the refused instance", Files.list(launches).toList(), hasSize(1));
            assertThat("its restarts", seen.workers().stream().filter(worker -> worker.instance() == 0).findFirst().orElseThrow().restarts(), is(0));
            long sibling = pidOf(seen, 1);
            for (int i = 0; i < 10; i++) assertThat(Reply.ask(herd.port).pid(), is(sibling));
        }
    }

    /** ACCEPTED counts into a worker's open connections: from one never passed a socket, it is a lie, and the worker is stopped. */
    @Test
    void aWorkerReportingAcceptsWithoutAListeningSocketIsStoppedAndRestarted() throws Exception {
        Path launches = Files.createDirectory(dir.resolve("launches"));
        Map<String, String> settings = Map.of("main", ProtocolPeer.class.getName(),
                "env.PEER_INSTANCE", "0", "env.PEER_MODE", "accepted-unasked", "env.PEER_LAUNCHES", launches.toString());
        try (LogCapture workerLog = LogCapture.of(Worker.class); TestCluster herd = TestCluster.start(1, settings)) {
            String refused = "IPC channel failed, stopping the worker: java.net.ProtocolException: ACCEPTED counts 1 connections, "
                    + "but it was passed no listening socket";
            // Its channel closes as the reader fails, so the worker may be seen gone before the reader has said why.
            Await.until("the worker's ACCEPTED refused", () -> workerLog.warnings().stream().anyMatch(line -> line.contains(refused)), WAIT);
            herd.awaitInfo("the worker restarted after its ACCEPTED", info -> info.workers().getFirst().restarts() >= 1);
        }
    }

    private static long handedOff(ClusterInfo info) {
        return info.workers().stream().mapToLong(WorkerInfo::handedOff).sum();
    }

    private static long pidIn(ClusterInfo info, String state) {
        return info.workers().stream().filter(worker -> worker.state().equals(state)).findFirst().orElseThrow().pid();
    }

    private static long pidOf(ClusterInfo info, int instance) {
        return info.workers().stream().filter(worker -> worker.instance() == instance).findFirst().orElseThrow().pid();
    }

    private static String stateOf(ClusterInfo info, int instance) {
        return info.workers().stream().filter(worker -> worker.instance() == instance).map(WorkerInfo::state).findFirst().orElse("none");
    }

    /** A GET on a new connection: the whole answer (HttpApp closes each connection after it). */
    private static String get(int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** HttpApp's answer's body, {@code <instance> <pid>}. */
    private static String body(Future<String> answer) {
        try {
            String text = answer.get();
            return text.substring(text.indexOf("\r\n\r\n") + 4).strip();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Connections waiting in the queue of the socket listening on 127.0.0.1:{@code port}: its rx_queue in /proc/net/tcp. */
    private static int acceptQueue(int port) throws IOException {
        String local = String.format(Locale.ROOT, "0100007F:%04X", port);
        for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
            String[] fields = line.strip().split("\\s+");
            if (fields[1].equals(local) && fields[3].equals("0A")) return Integer.parseInt(fields[4].split(":")[1], 16);
        }
        throw new AssertionError("nothing listens on 127.0.0.1:" + port + " in /proc/net/tcp");
    }
}
