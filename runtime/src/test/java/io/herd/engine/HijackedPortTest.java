package io.herd.engine;

import io.herd.testapp.Echo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * Proxy dispatch when another local process holds a worker's port ({@link Echo}, which tells the
 * test its port; the test's own JVM plays the other process): no client byte, not even a PROXY
 * header, reaches that process, and the worker restarts on a new port.
 */
@Timeout(180)
class HijackedPortTest {
    private static final long SELF = ProcessHandle.current().pid();

    @Test
    void aPortTakenBeforeTheWorkerListensGetsNoClientByteAndTheWorkerRestartsOnAnother() throws Exception {
        Path launches = absentFile("herd-launches-");
        try (LogCapture log = LogCapture.of(Cluster.class);
             TestCluster herd = ProxyTest.echo(1, Map.of("env.ECHO_PORTS_FILE", launches.toString(), "env.ECHO_SILENT_FIRST_LAUNCH", "true",
                     "proxy.protocol", "v1", "queue.timeout", "60s"))) {
            List<WorkerEvent> events = new CopyOnWriteArrayList<>();
            herd.cluster.addListener(events::add);
            Launch first = awaitLaunch(launches, 1); // it will not listen: this test does, first
            try (Recorder hijacker = Recorder.listen(first.port(), 50)) {
                String echoed = exchangeWithin(herd.port, "hello", Duration.ofSeconds(60));

                assertThat("what the taken port received", hijacker.received(), is(""));
                assertThat(echoed, allOf(startsWith("PROXY TCP4 127.0.0.1 127.0.0.1 "), endsWith("\r\nhello")));
                Launch second = awaitLaunch(launches, 2);
                assertThat(second.port(), is(not(first.port())));
                assertThat("pids that came online", events.stream().filter(e -> e.to() == WorkerState.ONLINE).map(WorkerEvent::pid).toList(),
                        contains(second.pid()));
                assertThat(log.warnings(), hasItem(allOf(containsString("pid " + first.pid()), containsString("killing it"),
                        containsString("port " + first.port() + " is held by another process"), containsString("held by pid " + SELF))));
            }
        } finally {
            Files.deleteIfExists(launches);
        }
    }

    @Test
    void anOnlineWorkerWhosePortIsTakenOverLeavesRotationAndRestartsOnAnother() throws Exception {
        Path launches = absentFile("herd-launches-");
        Path closePort = absentFile("herd-close-port-");
        try (LogCapture log = LogCapture.of(Cluster.class);
             TestCluster herd = ProxyTest.echo(1, Map.of("env.ECHO_PORTS_FILE", launches.toString(), "env.ECHO_CLOSE_PORT_IF", closePort.toString(),
                     "queue.timeout", "60s"))) {
            herd.awaitOnline(1);
            Launch first = awaitLaunch(launches, 1);
            assertThat(ProxyTest.exchange(herd.port, "before"), is("before"));

            Files.createFile(closePort);
            TestCluster.await(() -> Files.exists(closePort), there -> !there, Duration.ofSeconds(30));
            assertThat("the worker closed its port", Files.exists(closePort), is(false));
            // The port is free: this test takes it, and lets its queue fill, so that the master's
            // next connect there is not refused (which would leave nothing to see) but times out.
            try (Recorder hijacker = Recorder.listenWithoutAccepting(first.port())) {
                hijacker.fillQueue();
                String echoed = exchangeWithin(herd.port, "after", Duration.ofSeconds(60));
                Launch second = awaitLaunch(launches, 2);

                assertThat(echoed, is("after"));
                assertThat(second.port(), is(not(first.port())));
                assertThat(log.warnings(), hasItem(allOf(containsString("pid " + first.pid() + ") refused a relayed connection"),
                        containsString("port " + first.port() + " is held by another process"), containsString("held by pid " + SELF),
                        containsString("out of rotation"))));
            }
        } finally {
            Files.deleteIfExists(launches);
            Files.deleteIfExists(closePort);
        }
    }

    // ---- helpers ----

    /** A launch of {@link Echo}, as it wrote it to its ports file. */
    record Launch(int port, long pid) {
    }

    /** Waits (bounded) for the {@code count}th launch; returns it. */
    private static Launch awaitLaunch(Path launches, int count) throws InterruptedException {
        List<String> lines = TestCluster.await(() -> completeLines(launches), seen -> seen.size() >= count, Duration.ofSeconds(60));
        assertThat("launches written to " + launches + ": " + lines, lines.size() >= count, is(true));
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

    private static Path absentFile(String prefix) throws IOException {
        Path path = Files.createTempFile(prefix, "");
        Files.delete(path);
        return path;
    }

    /**
     * {@link ProxyTest#exchange}, bounded. On a thread of its own: blocked in the common pool, it
     * would hold up the master's exit handling ({@link Process#onExit} completes there).
     */
    private static String exchangeWithin(int port, String text, Duration limit) throws Exception {
        CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
            try {
                return ProxyTest.exchange(port, text);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().start(task));
        return answer.get(limit.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A listener on a worker's port, in this JVM: it keeps every byte it is sent. */
    private static final class Recorder implements AutoCloseable {
        private final ServerSocket server;
        private final StringBuffer received = new StringBuffer();
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();

        private Recorder(int port, int backlog) throws IOException {
            server = new ServerSocket(port, backlog, InetAddress.getLoopbackAddress());
        }

        /** Accepts and reads every connection until it ends. */
        static Recorder listen(int port, int backlog) throws IOException {
            Recorder recorder = new Recorder(port, backlog);
            Thread.ofPlatform().daemon().start(recorder::acceptAll); // ends when the server is closed
            return recorder;
        }

        /** Never accepts: with a queue of one, a couple of connections fill it. */
        static Recorder listenWithoutAccepting(int port) throws IOException {
            return new Recorder(port, 1);
        }

        /** Connects to itself until its queue is full: then a connect times out instead of completing. */
        void fillQueue() throws IOException {
            for (int i = 0; i < 10; i++) {
                Socket filler = new Socket();
                sockets.add(filler);
                try {
                    filler.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 1_000);
                } catch (SocketTimeoutException full) {
                    return;
                }
            }
            throw new AssertionError("10 connections did not fill a listen queue of 1");
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

        private void record(Socket socket) {
            try (socket) {
                byte[] bytes = socket.getInputStream().readAllBytes();
                received.append(new String(bytes, StandardCharsets.ISO_8859_1));
            } catch (IOException ignored) {
                // closed by the test
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
