package io.herd.ipc;

import io.herd.HerdWorker;
import io.herd.testapp.ReadyAndIdle;
import io.herd.testapp.WhoAmI;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.startsWith;

/**
 * The SDK's side of the IPC handshake: a real worker JVM ({@link WhoAmI} on the real SDK) under
 * a fake master ({@link RawIpcPeer}) that answers as another herd version would: with one at
 * IPC 2 it speaks IPC 2, and only IPC 2.
 */
@Timeout(60)
class SdkHandshakeTest {
    private static final int WAIT_MILLIS = 30_000;

    @TempDir
    Path dir;

    private Process worker;

    @AfterEach
    void stopWorker() throws Exception {
        if (worker == null) return;
        worker.destroyForcibly();
        if (!worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)) throw new AssertionError("the worker JVM survived SIGKILL");
    }

    @Test
    void aWorkerSaysHelloFirstWithItsVersions() throws Exception {
        try (RawIpcPeer master = startWorker()) {
            RawIpcPeer.Received hello = master.receive(WAIT_MILLIS);
            assertThat(hello.is(IpcMessage.Type.HELLO), is(true));
            assertThat("newest version", hello.count(), is(Protocol.VERSION));
            assertThat("oldest version", hello.id(), is((long) Protocol.OLDEST));
            assertThat("its herd version", new String(hello.data(), IpcMessage.SIZE, hello.data().length - IpcMessage.SIZE, StandardCharsets.US_ASCII),
                    is(Protocol.HERD_VERSION));
        }
    }

    @Test
    void aWorkerWhoseMasterSpeaksNoVersionOfItsExitsWithOneClearLine() throws Exception {
        try (RawIpcPeer master = startWorker()) {
            master.receive(WAIT_MILLIS); // its HELLO
            master.send(RawIpcPeer.hello(Protocol.VERSION + 5, Protocol.VERSION + 1, "9.9.9"));

            assertThat("the worker exited", worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS), is(true));
            assertThat("its exit status", worker.exitValue(), is(1));
            assertThat(Files.readAllLines(dir.resolve("stderr"), StandardCharsets.UTF_8), contains(
                    "herd worker: the herd master (herd 9.9.9) speaks IPC " + (Protocol.VERSION + 1) + " to " + (Protocol.VERSION + 5)
                            + "; this herd-sdk " + Protocol.HERD_VERSION + " speaks IPC " + Protocol.OLDEST + " to " + Protocol.VERSION
                            + ": rebuild the app with herd-sdk ≥ 9.9.9; exiting"));
        }
    }

    /**
     * A master at IPC 2 (herd 0.1.0) and this SDK agree on 2: the worker serves that master's
     * single HANDOFFs as before, with an ACK for each.
     */
    @Test
    void aWorkerUnderAnIpc2MasterServesItsHandoffsAndAcksEachAlone() throws Exception {
        try (RawIpcPeer master = startWorker();
             ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            master.receive(WAIT_MILLIS); // its HELLO
            master.send(RawIpcPeer.hello(2, 2, "0.1.0"));
            assertThat("the app said it is ready", master.receive(WAIT_MILLIS).is(IpcMessage.Type.READY), is(true));

            try (SocketChannel client = SocketChannel.open(server.getLocalAddress()); SocketChannel accepted = server.accept()) {
                master.send(RawIpcPeer.message(IpcMessage.Type.HANDOFF, 4, 0, 42), new int[]{JdkSockets.fdOf(accepted)});
                RawIpcPeer.Received ack = master.receive(WAIT_MILLIS);
                assertThat("an ACK, not " + ack.code(), ack.is(IpcMessage.Type.ACK), is(true));
                assertThat("the ACK's id", ack.id(), is(42L));
                accepted.close(); // the master's copy, closed on the ACK as the master does

                client.write(ByteBuffer.wrap("who?\n".getBytes(StandardCharsets.US_ASCII)));
                assertThat("the worker's answer", readLine(client), startsWith("0 " + worker.pid() + " "));
            }
        }
    }

    /**
     * On a channel agreed at IPC 2, a message only IPC 3 has is a bad message like any other: the
     * worker refuses it and exits, saying why.
     */
    @Test
    void aWorkerUnderAnIpc2MasterRefusesAnIpc3MessageAndExitsSayingWhy() throws Exception {
        try (RawIpcPeer master = startWorker()) {
            master.receive(WAIT_MILLIS); // its HELLO
            master.send(RawIpcPeer.hello(2, 2, "0.1.0"));
            assertThat("the app said it is ready", master.receive(WAIT_MILLIS).is(IpcMessage.Type.READY), is(true));

            int[] passed = RawIpcPeer.descriptors(2);
            try {
                master.send(RawIpcPeer.withIds(IpcMessage.Type.HANDOFFS, 4, 2, 7, 8), passed);
            } finally {
                RawIpcPeer.closeAll(passed);
            }

            assertThat("the worker exited", worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS), is(true));
            assertThat("its exit status", worker.exitValue(), is(1));
            assertThat(Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8), containsString(
                    "herd worker: the IPC channel to the herd master broke: java.net.ProtocolException: refused an IPC message from the master: "
                            + "HANDOFFS, a message of IPC 3, on a channel agreed at IPC 2 (its 2 descriptors closed); exiting"));
        }
    }

    /** One line read from {@code channel}, without its end; throws when the connection ends first. */
    private static String readLine(SocketChannel channel) throws java.io.IOException {
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            if (channel.read(one) < 0) throw new AssertionError("the connection ended after \"" + line + "\"");
            if (one.get(0) == '\n') return line.toString(StandardCharsets.US_ASCII);
            line.write(one.get(0));
        }
    }

    @Test
    void anUnknownOptionalMessageFromTheMasterIsSkipped() throws Exception {
        try (RawIpcPeer master = startWorker()) {
            master.receive(WAIT_MILLIS); // its HELLO
            master.send(RawIpcPeer.hello());
            assertThat("the app said it is ready", master.receive(WAIT_MILLIS).is(IpcMessage.Type.READY), is(true));

            int[] attached = RawIpcPeer.descriptors(1);
            try {
                master.send(RawIpcPeer.frame(0x80 | 0x33, 0, 1, 1, "from the future".getBytes(StandardCharsets.US_ASCII)), attached);
            } finally {
                RawIpcPeer.closeAll(attached);
            }
            master.send(RawIpcPeer.message(IpcMessage.Type.PING, 0, 0, 0));
            RawIpcPeer.Received answer = master.receive(WAIT_MILLIS);
            assertThat("what the worker answered the ping after it", answer != null && answer.is(IpcMessage.Type.PONG), is(true));
            assertThat("the worker runs on", worker.isAlive(), is(true));
        }
    }

    /**
     * A worker's start-up is herd's restart time, and the SDK's part of it is what it does before
     * READY: the JVM's class-loading log shows it. It spins no code of its own (each lambda or
     * string concatenation met first costs milliseconds), links only the native calls it needs
     * (each shape of downcall costs more: socket's, and the one connect, sendmsg and recvmsg
     * share), and starts no logging backend.
     */
    @Test
    void beforeItIsReadyAWorkerSpinsNoCodeLinksOnlyTheCallsItNeedsAndStartsNoLogging() throws Exception {
        Path classLog = dir.resolve("classes.log");
        try (RawIpcPeer master = startWorker(ReadyAndIdle.class, "-Xlog:class+load:file=" + classLog)) {
            master.receive(WAIT_MILLIS); // its HELLO
            master.send(RawIpcPeer.hello());
            assertThat("the app said it is ready", master.receive(WAIT_MILLIS).is(IpcMessage.Type.READY), is(true));

            // Read once READY came: the log holds all the worker loaded before, and maybe a little after.
            List<String> loaded = Files.readAllLines(classLog, StandardCharsets.UTF_8);
            assertThat("lambdas spun for herd-sdk's classes", matching(loaded, "$$Lambda", "source: io.herd."), is(empty()));
            assertThat("string concatenations spun", matching(loaded, "$$StringConcat", ""), is(empty()));
            assertThat("downcall shapes linked", matching(loaded, "jdk.internal.foreign.abi.DowncallStub", ""), hasSize(lessThanOrEqualTo(2)));
            assertThat("logging classes loaded", matching(loaded, "jdk.internal.logger.", ""), is(empty()));
        }
    }

    /**
     * The SDK checks for herd's --add-opens as it starts, and makes its method handles into the
     * JDK only later, on its reader thread: a worker started by hand without the flag still fails
     * in HerdWorker.start, before it connects, saying what to add.
     */
    @Test
    void aWorkerStartedWithoutHerdsFlagsFailsAsItStartsNamingThem() throws Exception {
        Path socket = dir.resolve("ipc.sock");
        try (IpcChannel.Listener listener = new IpcChannel.Listener(socket)) {
            worker = workerProcess(ReadyAndIdle.class, List.of(), socket).start();

            assertThat("the worker exited", worker.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS), is(true));
            assertThat("its exit status", worker.exitValue(), is(1));
            assertThat(Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8),
                    containsString("IllegalStateException: herd cannot reach the JDK's socket internals on Java " + Runtime.version()
                            + ": start this JVM with " + String.join(" ", JdkSockets.JVM_FLAGS)));
            assertThat("it connected to the master", Unix.pollReadable(listener.fd, 0), is(false));
        }
    }

    /** The lines of the class-loading log that name a class containing {@code name} and contain {@code also}. */
    private static List<String> matching(List<String> classLog, String name, String also) {
        return classLog.stream().filter(line -> line.contains(name) && line.contains(also)).toList();
    }

    /** Starts a WhoAmI worker JVM whose master is the returned fake, once it has connected. */
    private RawIpcPeer startWorker() throws Exception {
        return startWorker(WhoAmI.class);
    }

    /** Starts a worker JVM running {@code app} whose master is the returned fake, once it has connected. */
    private RawIpcPeer startWorker(Class<?> app, String... jvmOptions) throws Exception {
        Path socket = dir.resolve("ipc.sock");
        List<String> options = new ArrayList<>(JdkSockets.JVM_FLAGS);
        options.addAll(List.of(jvmOptions));
        try (IpcChannel.Listener listener = new IpcChannel.Listener(socket)) {
            worker = workerProcess(app, options, socket).start();
            return RawIpcPeer.accept(listener, WAIT_MILLIS);
        }
    }

    /** A worker JVM running {@code app} with {@code jvmOptions}, as herd would start it on the IPC socket {@code socket}. */
    private ProcessBuilder workerProcess(Class<?> app, List<String> jvmOptions, Path socket) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(jvmOptions);
        command.addAll(List.of("-Xmx32m", "-XX:TieredStopAtLevel=1", "-cp", location(app) + File.pathSeparator + location(HerdWorker.class),
                app.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(dir.resolve("stderr").toFile())
                .redirectOutput(dir.resolve("stdout").toFile());
        builder.environment().putAll(java.util.Map.of("HERD_IPC", socket.toString(), "HERD_APP", "test", "HERD_INSTANCE", "0"));
        return builder;
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
