package io.herd.ipc;

import io.herd.HerdWorker;
import io.herd.testapp.HttpApp;
import io.herd.testapp.WhoAmI;
import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.startsWith;

/**
 * The SDK's side of shared dispatch: a real worker JVM on the real SDK, under a fake master
 * ({@link RawIpcPeer}) that passes it a listening socket this test also holds, as the master
 * keeps its copy. What the test's copy accepts is what the worker left in the kernel's queue.
 */
@Timeout(90)
class SdkSharedTest {
    private static final int WAIT_MILLIS = 30_000;

    @TempDir
    Path dir;

    /** The test's copy of the listening socket: the master's, in a real herd. */
    private ServerSocketChannel listening;
    private Process worker;

    @BeforeEach
    void listen() throws IOException {
        listening = ServerSocketChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    }

    @AfterEach
    void stopWorker() throws Exception {
        listening.close();
        if (worker == null) return;
        worker.destroyForcibly();
        if (!worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)) throw new AssertionError("the worker JVM survived SIGKILL");
    }

    @Test
    void aWorkerPassedTheListeningSocketServesItsConnections() throws Exception {
        try (RawIpcPeer master = readyWorker(WhoAmI.class)) {
            try (SocketChannel early = connect()) {
                pingPong(master);
                assertThat("a connection made before any LISTENER is still the test's to accept", acceptedHere().getRemoteAddress(),
                        is(early.getLocalAddress()));
            }
            passListener(master);
            for (int i = 0; i < 3; i++) {
                try (SocketChannel client = connect()) {
                    assertThat(roundTrip(client), is("0 " + worker.pid() + " " + client.getLocalAddress()));
                }
            }
        }
    }

    /** The master counts a worker's connections from its reports; a close it never heard accepted it takes for a lie. */
    @Test
    void itReportsWhatItAcceptedBeforeReportingAnyOfItClosed() throws Exception {
        int clients = 20;
        try (RawIpcPeer master = readyWorker(WhoAmI.class)) {
            passListener(master);
            for (int i = 0; i < clients; i++) {
                try (SocketChannel client = connect()) {
                    roundTrip(client);
                }
            }
            int accepted = 0;
            int closed = 0;
            while (closed < clients) {
                RawIpcPeer.Received report = master.receive(WAIT_MILLIS);
                if (report.is(IpcMessage.Type.ACCEPTED)) accepted += report.count();
                else if (report.is(IpcMessage.Type.CLOSED)) closed += report.count();
                else throw new AssertionError("a report was awaited, and message type " + report.code() + " came");
                assertThat("connections reported closed, at most those reported accepted", closed, is(lessThanOrEqualTo(accepted)));
            }
            assertThat("connections reported accepted", accepted, is(clients));
        }
    }

    /**
     * What shared dispatch rests on (JDK 25): closing the worker's copy while its herd-accept
     * thread is blocked in accept() ends that thread, and leaves the socket listening for the
     * other holders. shutdown(2) would stop it for all of them: the next connection would be
     * refused.
     */
    @Test
    void closingTheWorkerEndsItsAcceptThreadAndLeavesTheSocketListeningForTheOthers() throws Exception {
        try (RawIpcPeer master = readyWorker(WhoAmI.class, "WHOAMI_GATE", dir.toString())) {
            passListener(master);
            try (SocketChannel client = connect()) {
                roundTrip(client); // the app is back in accept(), its herd-accept thread in the socket's
            }
            Files.createFile(dir.resolve("close-0"));
            awaitMessage(master, IpcMessage.Type.STOPPING);
            Path closed = dir.resolve("closed-0");
            Await.until("the worker to say whether its herd-accept threads ended", () -> Files.exists(closed), Duration.ofMillis(WAIT_MILLIS));
            assertThat("herd-accept threads alive after close()", Files.readString(closed), is("0"));

            try (SocketChannel client = connect()) {
                SocketChannel accepted = acceptedHere();
                assertThat(accepted.getRemoteAddress(), is(client.getLocalAddress()));
                accepted.close();
            }
        }
    }

    /**
     * A worker whose app is not waiting in accept() takes nothing from the queue, and dying
     * (SIGKILL) with its copy open loses nothing queued there: the master's copy keeps it.
     * HttpApp, stuck, serves the one connection it took and asks for no more.
     */
    @Test
    void connectionsTheAppDidNotAskForStayQueuedEvenWhenTheWorkerIsKilled() throws Exception {
        try (RawIpcPeer master = readyWorker(HttpApp.class, "HTTPAPP_DIR", dir.toString())) {
            Files.createFile(dir.resolve("stuck-" + worker.pid()));
            passListener(master);
            try (SocketChannel first = connect()) {
                first.write(ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                assertThat("the answer to the one it took", readToEnd(first), startsWith("HTTP/1.1 200 OK"));
            }
            try (SocketChannel client = connect()) {
                pingPong(master);
                worker.destroyForcibly();
                assertThat("the worker died", worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS), is(true));

                try (SocketChannel accepted = acceptedHere()) {
                    assertThat(accepted.getRemoteAddress(), is(client.getLocalAddress()));
                    client.write(ByteBuffer.wrap(new byte[] {42}));
                    assertThat("bytes read from the queued connection", accepted.read(ByteBuffer.allocate(1)), is(1));
                }
            }
        }
    }

    /** Health checks keep coming as handoffs: one reaches the app while the shared listener is idle. */
    @Test
    void aHandedOffHealthCheckReachesTheAppWhileItsListenerIsIdle() throws Exception {
        try (RawIpcPeer master = readyWorker(WhoAmI.class);
             ServerSocketChannel elsewhere = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel prober = SocketChannel.open(elsewhere.getLocalAddress());
             SocketChannel probed = elsewhere.accept()) {
            passListener(master);
            master.send(RawIpcPeer.message(IpcMessage.Type.HANDOFF, 4, 0, -7), new int[] {JdkSockets.fdOf(probed)});
            assertThat("acknowledged", awaitMessage(master, IpcMessage.Type.ACK).id(), is(-7L));
            assertThat(roundTrip(prober), is("0 " + worker.pid() + " " + prober.getLocalAddress()));
        }
    }

    /**
     * A listening socket shut down under the worker (by a hostile app, say) fails every accept:
     * the worker exits, naming why, rather than stay in rotation answering pings and health
     * checks while it can take no connection.
     */
    @Test
    void aWorkerWhoseListeningSocketStopsListeningExitsNamingIt() throws Exception {
        try (RawIpcPeer master = readyWorker(WhoAmI.class)) {
            passListener(master);
            try (SocketChannel client = connect()) {
                roundTrip(client); // the app is back in accept(), its herd-accept thread in the socket's
            }
            Unix.shutdown(JdkSockets.fdOf(listening));

            assertThat("the worker exited", worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS), is(true));
            assertThat("its exit status", worker.exitValue(), is(1));
            assertThat(Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8),
                    containsString("herd worker: shared dispatch: the shared listening socket no longer listens ("));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "a connected TCP socket | 4 | a TCP socket that is not listening",
            "an IPC socket          | 4 | a socket of type 5, not a stream",
            "an IPv4 listener said to be IPv6 | 6 | a socket of domain 2, not IPv6's (10)"})
    void aListenerThatIsNoListeningTcpSocketOfItsFamilyMakesTheWorkerExitNamingIt(String what, int family, String problem) throws Exception {
        try (RawIpcPeer master = readyWorker(WhoAmI.class);
             SocketChannel client = connect();
             SocketChannel connected = listening.accept()) {
            int[] passed = switch (what) {
                case "a connected TCP socket" -> new int[] {JdkSockets.fdOf(connected)};
                case "an IPC socket" -> RawIpcPeer.descriptors(1);
                default -> new int[] {JdkSockets.fdOf(listening)};
            };
            master.send(RawIpcPeer.message(IpcMessage.Type.LISTENER, family, 0, 0), passed);

            assertThat("the worker exited", worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS), is(true));
            assertThat("its exit status", worker.exitValue(), is(1));
            assertThat(Files.readAllLines(dir.resolve("stderr"), StandardCharsets.UTF_8), contains(
                    "herd worker: the IPC channel to the herd master broke: java.net.ProtocolException: LISTENER whose descriptor is "
                            + problem + "; exiting"));
            if (what.equals("an IPC socket")) RawIpcPeer.closeAll(passed);
        }
    }

    // ---- the fake master's side ------------------------------------------------------------------

    /** Starts a worker JVM running {@code app} (with {@code env}, name and value in turn), shakes hands at IPC 3 and waits for its READY. */
    private RawIpcPeer readyWorker(Class<?> app, String... env) throws Exception {
        Path socket = dir.resolve("ipc.sock");
        RawIpcPeer master;
        try (IpcChannel.Listener listener = new IpcChannel.Listener(socket)) {
            List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow()));
            command.addAll(JdkSockets.JVM_FLAGS);
            command.addAll(List.of("-Xmx32m", "-XX:TieredStopAtLevel=1", "-cp",
                    location(app) + File.pathSeparator + location(HerdWorker.class), app.getName()));
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(dir.resolve("stderr").toFile())
                    .redirectOutput(dir.resolve("stdout").toFile());
            builder.environment().putAll(Map.of("HERD_IPC", socket.toString(), "HERD_APP", "test", "HERD_INSTANCE", "0"));
            for (int i = 0; i + 1 < env.length; i += 2) builder.environment().put(env[i], env[i + 1]);
            worker = builder.start();
            master = RawIpcPeer.accept(listener, WAIT_MILLIS);
        }
        assertThat("its HELLO", master.receive(WAIT_MILLIS).is(IpcMessage.Type.HELLO), is(true));
        master.send(RawIpcPeer.hello(Protocol.VERSION, Protocol.OLDEST, "raw-peer"));
        awaitMessage(master, IpcMessage.Type.READY);
        return master;
    }

    /** Passes the test's listening socket, and waits until the worker has read it (its answer to the PING sent after). */
    private void passListener(RawIpcPeer master) throws IOException {
        master.send(RawIpcPeer.message(IpcMessage.Type.LISTENER, 4, 0, 0), new int[] {JdkSockets.fdOf(listening)});
        pingPong(master);
    }

    /** A PING, answered: the worker has read everything sent before it. */
    private static void pingPong(RawIpcPeer master) throws IOException {
        master.send(RawIpcPeer.message(IpcMessage.Type.PING, 0, 0, 0));
        awaitMessage(master, IpcMessage.Type.PONG);
    }

    /** The next message of {@code type}, passing over reports (ACCEPTED, CLOSED) and PONGs; throws when none comes in time, or another type does. */
    private static RawIpcPeer.Received awaitMessage(RawIpcPeer master, IpcMessage.Type type) throws IOException {
        while (true) {
            RawIpcPeer.Received message = master.receive(WAIT_MILLIS);
            if (message == null) throw new AssertionError("the channel ended while " + type + " was awaited");
            if (message.is(type)) return message;
            boolean passedOver = message.is(IpcMessage.Type.ACCEPTED) || message.is(IpcMessage.Type.CLOSED) || message.is(IpcMessage.Type.PONG);
            if (!passedOver) throw new AssertionError(type + " was awaited, and message type " + message.code() + " came");
        }
    }

    private SocketChannel connect() throws IOException {
        return SocketChannel.open(listening.getLocalAddress());
    }

    /** The next connection in the listening socket's queue, taken by the test's copy; throws when none is there within the wait. */
    private SocketChannel acceptedHere() throws IOException {
        if (!Unix.pollReadable(JdkSockets.fdOf(listening), WAIT_MILLIS)) {
            throw new AssertionError("no connection waited in the listening socket's queue within " + WAIT_MILLIS + " ms");
        }
        return listening.accept();
    }

    /** Sends a line, returns the line answered (without its newline). */
    private static String roundTrip(SocketChannel client) throws IOException {
        client.write(ByteBuffer.wrap("who\n".getBytes(StandardCharsets.US_ASCII)));
        ByteBuffer in = ByteBuffer.allocate(256);
        while (in.position() == 0 || in.get(in.position() - 1) != '\n') {
            if (client.read(in) < 0) throw new IOException("closed before answering: " + new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII));
        }
        return new String(in.array(), 0, in.position() - 1, StandardCharsets.US_ASCII);
    }

    private static String readToEnd(SocketChannel client) throws IOException {
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        ByteBuffer in = ByteBuffer.allocate(1024);
        while (client.read(in.clear()) >= 0) all.write(in.array(), 0, in.position());
        return all.toString(StandardCharsets.US_ASCII);
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
