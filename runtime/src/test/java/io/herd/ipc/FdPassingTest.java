package io.herd.ipc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
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
            IpcChannel.Listener listener = new IpcChannel.Listener(dir.resolve("t.sock"));
            CompletableFuture<IpcChannel> masterSide = CompletableFuture.supplyAsync(() -> {
                try {
                    return IpcChannel.acceptFrom(listener, ProcessHandle.current().pid(), 10_000, () -> true);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (IpcChannel workerSide = IpcChannel.connect(listener.path());
                 IpcChannel master = masterSide.get();
                 IpcChannel.Reader reader = workerSide.reader(IpcMessage.Sender.MASTER)) {
                assertThat(master.send(IpcMessage.handoff(42, 4, JdkSockets.fdOf(accepted)), false), is(true));
                IpcMessage received = reader.read();
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
}
