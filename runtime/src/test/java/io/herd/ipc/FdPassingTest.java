package io.herd.ipc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Proves, on the JDK running the tests, what herd's handoff rests on: the libc calls through FFM
 * ({@link Unix}), the SEQPACKET channel with SCM_RIGHTS ({@link IpcChannel}) and the JDK
 * internals that rebuild a SocketChannel from a passed descriptor ({@link JdkSockets}).
 */
class FdPassingTest {
    @TempDir
    Path dir;

    @Test
    void aTcpConnectionPassedOverTheChannelBecomesARealSocketChannel() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(server.getLocalAddress());
             SocketChannel accepted = server.accept()) {
            IpcMessage received = sendToSelf(IpcMessage.handoff(42, 4, JdkSockets.fdOf(accepted)), "t.sock");
            assertThat(received.type(), is(IpcMessage.Type.HANDOFF));
            assertThat(received.id(), is(42L));

            accepted.close(); // the master's copy: the connection lives on in the passed descriptor
            try (SocketChannel passed = JdkSockets.channelOf(received.fd(), received.family())) {
                assertThat(passed.getRemoteAddress(), is(client.getLocalAddress()));
                client.write(ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII)));
                ByteBuffer in = ByteBuffer.allocate(4);
                while (in.hasRemaining()) passed.read(in);
                assertThat(new String(in.array(), StandardCharsets.US_ASCII), is("ping"));
                passed.write(ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)));
                ByteBuffer back = ByteBuffer.allocate(4);
                while (back.hasRemaining()) client.read(back);
                assertThat(new String(back.array(), StandardCharsets.US_ASCII), is("pong"));
            }
        }
    }

    @Test
    void aConnectionFromAnotherProcessIsRefused() throws Exception {
        IpcChannel.Listener listener = new IpcChannel.Listener(dir.resolve("u.sock"));
        long somebodyElse = ProcessHandle.current().pid() + 1;
        try (IpcChannel intruder = IpcChannel.connect(listener.path())) {
            IOException refused = assertThrows(IOException.class, () -> IpcChannel.acceptFrom(listener, somebodyElse, 300, () -> true));
            assertThat(refused.getMessage(), containsString("did not connect"));
        }
    }

    @Test
    void theEndOfTheChannelReadsAsEndOfStream() throws Exception {
        IpcChannel.Listener listener = new IpcChannel.Listener(dir.resolve("v.sock"));
        IpcChannel workerSide = IpcChannel.connect(listener.path());
        IpcChannel master = IpcChannel.acceptFrom(listener, ProcessHandle.current().pid(), 10_000, () -> true);
        master.close();
        try (IpcChannel.Reader reader = workerSide.reader(IpcMessage.Sender.MASTER)) {
            assertThrows(java.io.EOFException.class, reader::read);
        }
    }

    /**
     * What socket activation (and a listener shared with workers) rests on: a listening socket's
     * descriptor, received from another process, becomes a real ServerSocketChannel that accepts
     * under a Selector as the master's acceptor does; and closing it, non-blocking and registered,
     * closes only that descriptor: the socket keeps listening for whoever else holds it (systemd).
     */
    @Test
    void aListeningSocketPassedOverTheChannelBecomesARealServerSocketChannel() throws Exception {
        try (ServerSocketChannel original = ServerSocketChannel.open(StandardProtocolFamily.INET)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            int listening = JdkSockets.fdOf(original);
            int received = sendToSelf(IpcMessage.handoff(1, 4, listening), "w.sock").fd();
            assertThat("a copy under a number of its own", received, is(not(listening)));
            try (ServerSocketChannel passed = JdkSockets.serverChannelOf(received, StandardProtocolFamily.INET);
                 Selector selector = Selector.open()) {
                assertThat(passed.getLocalAddress(), is(original.getLocalAddress()));
                passed.configureBlocking(false);
                passed.register(selector, SelectionKey.OP_ACCEPT);
                try (SocketChannel client = SocketChannel.open(original.getLocalAddress())) {
                    assertThat("the connection is seen within 10 s", selector.select(10_000), is(1));
                    try (SocketChannel accepted = passed.accept()) {
                        assertThat(accepted.getRemoteAddress(), is(client.getLocalAddress()));
                    }
                }
            }
            try (SocketChannel client = SocketChannel.open(original.getLocalAddress());
                 SocketChannel accepted = original.accept()) {
                assertThat("still listening after the passed copy was closed", accepted.getRemoteAddress(), is(client.getLocalAddress()));
            }
        }
    }

    @Test
    void socketOptionsTellAListeningTcpSocketFromAConnection() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.INET)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(server.getLocalAddress())) {
            int listening = JdkSockets.fdOf(server);
            int connected = JdkSockets.fdOf(client);
            assertThat(Unix.intSocketOption(listening, Unix.SOL_SOCKET, Unix.SO_ACCEPTCONN), is(1));
            assertThat(Unix.intSocketOption(connected, Unix.SOL_SOCKET, Unix.SO_ACCEPTCONN), is(0));
            assertThat(Unix.intSocketOption(listening, Unix.SOL_SOCKET, Unix.SO_TYPE), is(Unix.SOCK_STREAM));
            assertThat(Unix.intSocketOption(listening, Unix.SOL_SOCKET, Unix.SO_DOMAIN), is(Unix.AF_INET));
            int aJar = openFileDescriptor();
            Unix.UnixException notASocket = assertThrows(Unix.UnixException.class,
                    () -> Unix.intSocketOption(aJar, Unix.SOL_SOCKET, Unix.SO_TYPE));
            assertThat(notASocket.errno(), is(Unix.ENOTSOCK));
        }
    }

    /** A descriptor of a file this JVM keeps open: one of the jars on its class path. */
    private static int openFileDescriptor() throws IOException {
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (java.nio.file.Files.readSymbolicLink(fd).toString().endsWith(".jar")) return Integer.parseInt(fd.getFileName().toString());
                } catch (IOException closedMeanwhile) {
                    // the listing's own descriptor, say
                }
            }
        }
        throw new AssertionError("this JVM holds no jar open");
    }

    /**
     * What batched handoff rests on: {@link IpcMessage#MAX_BATCH} TCP connections passed in one
     * sendmsg ({@link IpcChannel#sendHandoffs}) arrive as that many descriptors, in the order of
     * their ids, each a working SocketChannel once the sender's copies are closed.
     */
    @Test
    @Timeout(60)
    void thirtyTwoConnectionsPassedInOneMessageBecomeThirtyTwoWorkingSocketChannels() throws Exception {
        int n = IpcMessage.MAX_BATCH;
        List<SocketChannel> clients = new ArrayList<>();
        List<SocketChannel> accepted = new ArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.INET)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), n)) {
            long[] ids = new long[n];
            int[] fds = new int[n];
            for (int i = 0; i < n; i++) {
                clients.add(SocketChannel.open(server.getLocalAddress()));
                accepted.add(server.accept());
                ids[i] = 1000 + i;
                fds[i] = JdkSockets.fdOf(accepted.get(i));
            }
            IpcMessage received = receiveFromSelf("b.sock", master -> master.sendHandoffs(ids, fds, n, 4, true));
            assertThat(received.type(), is(IpcMessage.Type.HANDOFFS));
            assertThat(received.ids(), is(ids));
            assertThat("descriptors received", received.fds().length, is(n));

            for (SocketChannel mastersCopy : accepted) mastersCopy.close();
            for (int i = 0; i < n; i++) {
                try (SocketChannel passed = JdkSockets.channelOf(received.fds()[i], received.family())) {
                    SocketChannel client = clients.get(i);
                    assertThat("the peer of connection " + ids[i], passed.getRemoteAddress(), is(client.getLocalAddress()));
                    exchange(client, passed, "ping " + i);
                    exchange(passed, client, "pong " + i);
                }
            }
        } finally {
            for (SocketChannel channel : clients) channel.close();
            for (SocketChannel channel : accepted) channel.close();
        }
    }

    /** Writes {@code text} on {@code from} and reads it, whole, on {@code to}. */
    private static void exchange(SocketChannel from, SocketChannel to, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        from.write(ByteBuffer.wrap(bytes));
        ByteBuffer in = ByteBuffer.allocate(bytes.length);
        while (in.hasRemaining()) {
            if (to.read(in) < 0) throw new AssertionError("the connection ended after " + in.position() + " bytes of \"" + text + "\"");
        }
        assertThat(new String(in.array(), StandardCharsets.US_ASCII), is(text));
    }

    /** {@code message} as this process receives it over an IPC channel, its descriptor under a new number, as another process would. */
    private IpcMessage sendToSelf(IpcMessage message, String socketName) throws Exception {
        return receiveFromSelf(socketName, master -> master.send(message, false));
    }

    /** How a test sends on the master's side of the channel; true when sent. */
    private interface Send {
        boolean on(IpcChannel master) throws IOException;
    }

    /**
     * What {@code send} sends, as this process receives it over an IPC channel whose ends agreed
     * on this code's newest version: its descriptors under new numbers, as another process would.
     */
    private IpcMessage receiveFromSelf(String socketName, Send send) throws Exception {
        IpcChannel.Listener listener = new IpcChannel.Listener(dir.resolve(socketName));
        CompletableFuture<IpcChannel> masterSide = CompletableFuture.supplyAsync(() -> {
            try {
                return IpcChannel.acceptFrom(listener, ProcessHandle.current().pid(), 10_000, () -> true);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try (IpcChannel workerSide = IpcChannel.connect(listener.path());
             IpcChannel master = masterSide.get(10, TimeUnit.SECONDS);
             IpcChannel.Reader mastersReader = master.reader(IpcMessage.Sender.WORKER);
             IpcChannel.Reader reader = workerSide.reader(IpcMessage.Sender.MASTER)) {
            mastersReader.agreed(Protocol.VERSION);
            reader.agreed(Protocol.VERSION);
            assertThat("sent", send.on(master), is(true));
            return reader.read();
        }
    }
}
