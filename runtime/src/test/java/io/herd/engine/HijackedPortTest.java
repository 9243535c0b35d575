package io.herd.engine;

import io.herd.testapp.Echo;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * Proxy dispatch when another local process holds a worker's port ({@link Echo}, which tells the
 * test its port; the test's own JVM plays the other process, which accepts and records what it is
 * sent): before the worker is ready, or after it closed its port, with clients coming or with none;
 * or listens beside it and never accepts. No client byte, not even a PROXY header, reaches that
 * process, every client is served, and the worker restarts on a new port.
 */
@Timeout(180)
class HijackedPortTest {
    private static final long SELF = ProcessHandle.current().pid();
    /** Where Echo writes its launches, and finds the port it must close. */
    @TempDir
    Path files;

    @Test
    void aPortTakenBeforeTheWorkerListensGetsNoClientByteAndTheWorkerRestartsOnAnother() throws Exception {
        Path launches = files.resolve("launches");
        try (LogCapture log = LogCapture.of(PortWatch.class);
             TestCluster herd = ProxyTest.echo(1, Map.of("env.ECHO_PORTS_FILE", launches.toString(), "env.ECHO_SILENT_FIRST_LAUNCH", "true",
                     "proxy.protocol", "v1", "queue.timeout", "60s"))) {
            List<WorkerEvent> events = new CopyOnWriteArrayList<>();
            herd.cluster.addListener(events::add);
            Launch first = awaitLaunch(launches, 1, Duration.ofSeconds(60)); // it will not listen: this test does, first
            try (Recorder hijacker = Recorder.listen(first.port(), 50)) {
                String echoed = ProxyTest.exchangeWithin(herd.port, "hello", Duration.ofSeconds(60));

                assertThat("what the taken port received", hijacker.received(), is(""));
                assertThat(echoed, allOf(startsWith("PROXY TCP4 127.0.0.1 127.0.0.1 "), endsWith("\r\nhello")));
                Launch second = awaitLaunch(launches, 2, Duration.ofSeconds(60));
                assertThat(second.port(), is(not(first.port())));
                assertThat("pids that came online", events.stream().filter(e -> e.to() == WorkerState.ONLINE).map(WorkerEvent::pid).toList(),
                        contains(second.pid()));
                assertThat(log.warnings(), hasItem(allOf(containsString("pid " + first.pid()), containsString("killing it"),
                        containsString("port " + first.port() + " is held by another process"), containsString("held by pid " + SELF))));
            }
        }
    }

    @Test
    void anOnlineWorkerThatClosesItsPortIsGivenUpAtTheFirstRefusalSoTheProcessThatTakesThePortNextGetsNoClientByte() throws Exception {
        Path launches = files.resolve("launches");
        Path closePort = files.resolve("close-port");
        try (LogCapture log = LogCapture.of(PortWatch.class);
             TestCluster herd = echoesThatCloseTheirPort(2, launches, closePort)) {
            herd.awaitOnline(2);
            Launch closing = awaitLaunch(launches, 1, Duration.ofSeconds(60));
            List<Exchange> clients = new ArrayList<>(exchanges(herd.port, "before", 4));

            closePortOf(closing, closePort);
            // Round robin over two workers: of two clients in a row, one at least is sent to the
            // closed port first, refused, and served by the sibling.
            clients.addAll(exchanges(herd.port, "refused", 2));
            try (Recorder thief = Recorder.listen(closing.port(), 50)) { // as soon as the port is free, another process takes it
                clients.addAll(exchanges(herd.port, "after", 8));
                Launch restarted = awaitLaunch(launches, 3, Duration.ofSeconds(60));
                herd.awaitOnline(2);
                clients.addAll(exchanges(herd.port, "restarted", 4));

                assertThat("what the taken port received", thief.received(), is(""));
                assertThat("clients not served", unserved(clients), is(empty()));
                assertThat(restarted.port(), is(not(closing.port())));
                // The refusal finds it, unless the periodic check ran in the moment between the close and the first client.
                assertThat(log.warnings(), hasItem(allOf(containsString("pid " + closing.pid() + ")"), anyOf(
                        containsString("refused a relayed connection: nothing listens on its port " + closing.port()),
                        containsString("no longer holds the socket it listened on, and nothing listens on port " + closing.port())),
                        containsString("out of rotation"))));
            }
        }
    }

    @Test
    void aPortThatChangesHandsWhileNoClientConnectsIsFoundByThePeriodicCheckBeforeTheNextClient() throws Exception {
        Path launches = files.resolve("launches");
        Path closePort = files.resolve("close-port");
        try (LogCapture log = LogCapture.of(PortWatch.class);
             TestCluster herd = echoesThatCloseTheirPort(1, launches, closePort)) {
            herd.awaitOnline(1);
            Launch first = awaitLaunch(launches, 1, Duration.ofSeconds(60));
            Exchange before = exchange(herd.port, "before");

            closePortOf(first, closePort);
            try (Recorder thief = Recorder.listen(first.port(), 50)) {
                // No client while the port changes hands, so no connect can fail: only the periodic
                // check can see it. The worker must be gone, and another launched, within a few of its periods.
                Launch second = awaitLaunch(launches, 2, Duration.ofSeconds(15));
                Exchange after = exchange(herd.port, "after");

                assertThat("what the taken port received", thief.received(), is(""));
                assertThat("clients not served", unserved(List.of(before, after)), is(empty()));
                assertThat(second.port(), is(not(first.port())));
                assertThat(log.warnings(), hasItem(allOf(containsString("pid " + first.pid() + ") no longer holds the socket it listened on"),
                        containsString("port " + first.port() + " is held by another process"), containsString("held by pid " + SELF),
                        containsString("out of rotation"))));
            }
        }
    }

    @Test
    void aListenerThatJoinsTheWorkersPortAndNeverAcceptsIsFoundWhenARelayedConnectTimesOut() throws Exception {
        Path launches = files.resolve("launches");
        try (LogCapture log = LogCapture.of(PortWatch.class);
             TestCluster herd = ProxyTest.echo(1, Map.of("env.ECHO_PORTS_FILE", launches.toString(), "env.ECHO_REUSE_PORT", "true",
                     "queue.timeout", "60s"))) {
            herd.awaitOnline(1);
            Launch first = awaitLaunch(launches, 1, Duration.ofSeconds(60));
            // The worker keeps its own listener, so the periodic check sees nothing amiss. This test
            // listens beside it (SO_REUSEPORT, as the same user) and lets its queue fill: a connect
            // the kernel sends to it is neither refused nor taken, but times out.
            try (Recorder joiner = Recorder.listenWithoutAccepting(first.port(), true)) {
                joiner.fillQueue();
                List<Exchange> clients = new ArrayList<>();
                for (int i = 0; i < 20 && completeLines(launches).size() < 2; i++) clients.add(exchange(herd.port, "client " + i));
                Launch second = awaitLaunch(launches, 2, Duration.ofSeconds(60));

                assertThat("clients not served", unserved(clients), is(empty()));
                assertThat(second.port(), is(not(first.port())));
                assertThat(log.warnings(), hasItem(allOf(containsString("pid " + first.pid() + ") did not take a relayed connection (no connection within"),
                        containsString("port " + first.port() + " is held by another process"), containsString("held by pid " + SELF),
                        containsString("out of rotation"))));
            }
        }
    }

    // ---- helpers ----

    /** A launch of {@link Echo}, as it wrote it to its ports file. */
    record Launch(int port, long pid) {
    }

    /** Waits (bounded) for the {@code count}th launch; returns it. */
    static Launch awaitLaunch(Path launches, int count, Duration limit) throws InterruptedException {
        List<String> lines = Await.until("launch " + count + " written to " + launches, () -> completeLines(launches), seen -> seen.size() >= count, limit);
        String[] words = lines.get(count - 1).split(" ");
        return new Launch(Integer.parseInt(words[0]), Long.parseLong(words[1]));
    }

    /** The lines written so far, without one still being written. */
    private static List<String> completeLines(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.US_ASCII);
            return List.of(text.substring(0, text.lastIndexOf('\n') + 1).lines().toArray(String[]::new));
        } catch (IOException notYet) {
            return List.of();
        }
    }

    /** {@link Echo} workers that write their launches and close their port when asked; the PROXY header v1, and a long wait queue. */
    private static TestCluster echoesThatCloseTheirPort(int instances, Path launches, Path closePort) throws Exception {
        return ProxyTest.echo(instances, Map.of("env.ECHO_PORTS_FILE", launches.toString(), "env.ECHO_CLOSE_PORT_IF", closePort.toString(),
                "proxy.protocol", "v1", "queue.timeout", "60s"));
    }

    /** Has Echo close the launch's port; waits (bounded) until it has. */
    static void closePortOf(Launch launch, Path trigger) throws Exception {
        Files.writeString(trigger, Integer.toString(launch.port()));
        Await.until("the worker to close its port (and delete " + trigger + ")", () -> !Files.exists(trigger), Duration.ofSeconds(30));
    }

    /** What a client sent through the master, and what came back. */
    record Exchange(String sent, String answer) {
        /** Echoed by a worker: what was sent, after the PROXY header the worker got first if the app has one. */
        boolean served() {
            return answer.equals(sent) || answer.startsWith("PROXY TCP4 127.0.0.1 127.0.0.1 ") && answer.endsWith("\r\n" + sent);
        }
    }

    /** {@code count} clients in turn, each through the master with {@code text} and its number. */
    private static List<Exchange> exchanges(int port, String text, int count) throws Exception {
        List<Exchange> exchanges = new ArrayList<>();
        for (int i = 0; i < count; i++) exchanges.add(exchange(port, text + " " + i));
        return exchanges;
    }

    private static Exchange exchange(int port, String text) throws Exception {
        return new Exchange(text, ProxyTest.exchangeWithin(port, text, Duration.ofSeconds(60)));
    }

    private static List<Exchange> unserved(List<Exchange> exchanges) {
        return exchanges.stream().filter(exchange -> !exchange.served()).toList();
    }

    /** A listener on a worker's port, in this JVM: it keeps every byte it is sent. */
    private static final class Recorder implements AutoCloseable {
        private final ServerSocket server;
        private final StringBuffer received = new StringBuffer();
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();

        private Recorder(int port, int backlog, boolean reusePort) throws IOException {
            server = new ServerSocket();
            if (reusePort) server.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), backlog);
        }

        /** Accepts and reads every connection until it ends. */
        static Recorder listen(int port, int backlog) throws IOException {
            Recorder recorder = new Recorder(port, backlog, false);
            Thread.ofPlatform().daemon().start(recorder::acceptAll); // ends when the server is closed
            return recorder;
        }

        /**
         * Never accepts: with a queue of one, a couple of connections fill it. With {@code reusePort},
         * it listens beside the port's listener of the same user (SO_REUSEPORT), which gets some of
         * the port's connections.
         */
        static Recorder listenWithoutAccepting(int port, boolean reusePort) throws IOException {
            return new Recorder(port, 1, reusePort);
        }

        /**
         * Connects to its port until its own queue is full: then a connect it gets times out instead
         * of completing. Beside another listener, about half the connects go there instead.
         */
        void fillQueue() throws IOException {
            for (int i = 0; i < 40; i++) {
                Socket filler = new Socket();
                sockets.add(filler);
                try {
                    filler.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 1_000);
                } catch (SocketTimeoutException full) {
                    return;
                }
            }
            throw new AssertionError("40 connections did not fill a listen queue of 1");
        }

        private void acceptAll() {
            while (true) {
                try {
                    Socket socket = server.accept();
                    sockets.add(socket);
                    Thread.ofVirtual().start(() -> record(socket));
                } catch (IOException closed) {
                    return;
                }
            }
        }

        /** Keeps each byte as it arrives, so bytes read before a reset are kept too. */
        private void record(Socket socket) {
            try (socket) {
                byte[] buffer = new byte[4096];
                for (int n; (n = socket.getInputStream().read(buffer)) >= 0; ) received.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
            } catch (IOException resetOrClosedByTheTest) {
                // what arrived before is in received
            }
        }

        String received() {
            return received.toString();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket socket : sockets) socket.close();
        }
    }
}
