package io.herd.ipc;

import io.herd.ipc.IpcMessage.Sender;
import io.herd.ipc.IpcMessage.Type;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.ProtocolException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * A peer that attaches descriptors to what it sends, in any shape, cannot make this process keep
 * one: each message is read by a real {@link IpcChannel} reader from a raw sendmsg, and this
 * process's descriptor count (/proc/self/fd) must be back where it was once the message is read.
 * A refused message leaves the channel usable: the next, good message reads as sent.
 */
@Timeout(60)
class IpcDescriptorTest {
    @TempDir
    Path dir;

    private RawIpcPeer peer;
    private IpcChannel channel;

    @BeforeEach
    void connect() throws IOException {
        IpcChannel.Listener listener = new IpcChannel.Listener(dir.resolve("peer.sock"));
        peer = RawIpcPeer.connect(listener.path());
        channel = IpcChannel.acceptFrom(listener, ProcessHandle.current().pid(), 10_000, () -> true);
    }

    @AfterEach
    void disconnect() {
        channel.close();
        peer.close();
    }

    /** A message and the descriptors attached to it, one array per SCM_RIGHTS control message. */
    record Attack(String name, Sender from, byte[] data, int[] cmsgs) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> refused() {
        return Stream.of(
                // What a worker may send, but with a descriptor attached
                attack("READY with a descriptor", Sender.WORKER, Type.READY, 4, 0, 0, 1),
                attack("ACK with a descriptor", Sender.WORKER, Type.ACK, 4, 0, 7, 1),
                attack("NACK with a descriptor", Sender.WORKER, Type.NACK, 4, 0, 7, 1),
                attack("CLOSED with a descriptor", Sender.WORKER, Type.CLOSED, 4, 1, 0, 1),
                attack("STOPPING with a descriptor", Sender.WORKER, Type.STOPPING, 4, 0, 0, 1),
                attack("PONG with a descriptor", Sender.WORKER, Type.PONG, 4, 0, 0, 1),
                attack("ACK with two descriptors in one control message", Sender.WORKER, Type.ACK, 4, 0, 7, 2),
                attack("PONG with 253 descriptors in three control messages", Sender.WORKER, Type.PONG, 4, 0, 0, 100, 100, 53),
                // What only the master sends, coming from a worker
                attack("a well-formed HANDOFF from a worker", Sender.WORKER, Type.HANDOFF, 4, 0, 7, 1),
                attack("PING from a worker", Sender.WORKER, Type.PING, 0, 0, 0),
                attack("SHUTDOWN from a worker", Sender.WORKER, Type.SHUTDOWN, 0, 0, 0),
                // Fields out of range
                attack("CLOSED with a count of 0", Sender.WORKER, Type.CLOSED, 0, 0, 0),
                attack("CLOSED with a negative count", Sender.WORKER, Type.CLOSED, 0, -5, 0),
                attack("CLOSED with the lowest count there is", Sender.WORKER, Type.CLOSED, 0, Integer.MIN_VALUE, 0),
                // HANDOFF, the one type that owns a descriptor, in every wrong shape
                attack("HANDOFF without a descriptor", Sender.MASTER, Type.HANDOFF, 4, 0, 7),
                attack("HANDOFF with two descriptors in one control message", Sender.MASTER, Type.HANDOFF, 4, 0, 7, 2),
                attack("HANDOFF with one descriptor in each of two control messages", Sender.MASTER, Type.HANDOFF, 4, 0, 7, 1, 1),
                attack("HANDOFF with 253 descriptors", Sender.MASTER, Type.HANDOFF, 4, 0, 7, 253),
                attack("HANDOFF of protocol family 0", Sender.MASTER, Type.HANDOFF, 0, 0, 7, 1),
                attack("HANDOFF of protocol family 5", Sender.MASTER, Type.HANDOFF, 5, 0, 7, 1),
                // What only a worker sends, coming from the master
                attack("ACK from the master, with a descriptor", Sender.MASTER, Type.ACK, 0, 0, 7, 1),
                attack("CLOSED from the master", Sender.MASTER, Type.CLOSED, 0, 1, 0),
                attack("PING with a descriptor", Sender.MASTER, Type.PING, 0, 0, 0, 1),
                // Not a herd message at all
                raw("an empty message with a descriptor", Sender.WORKER, new byte[0], 1),
                raw("15 bytes with a descriptor", Sender.WORKER, new byte[15], 1),
                raw("17 bytes with two descriptors", Sender.MASTER, new byte[17], 2),
                raw("4 KiB with a descriptor", Sender.MASTER, new byte[4096], 1),
                raw("an unknown type with a descriptor", Sender.MASTER, unknownType(), 1),
                // Frames and HELLOs that are not what they say
                raw("HELLO with a descriptor", Sender.WORKER, RawIpcPeer.hello(), 1),
                raw("HELLO whose oldest version is above its newest", Sender.WORKER, RawIpcPeer.hello(2, 3, "1.0"), 0),
                raw("HELLO of version 0", Sender.MASTER, RawIpcPeer.hello(0, 0, "1.0"), 0),
                raw("HELLO without a version text", Sender.MASTER, RawIpcPeer.hello(2, 2, ""), 0),
                raw("HELLO whose version text is not printable", Sender.WORKER, RawIpcPeer.hello(2, 2, "1.0\n[ERROR] forged"), 0),
                raw("HELLO whose version text is not ASCII", Sender.WORKER, RawIpcPeer.frame(Type.HELLO.code, 0, 2, 2, new byte[]{'1', (byte) 0xe2, (byte) 0x80}), 0),
                raw("HELLO whose version text is 65 bytes", Sender.WORKER, RawIpcPeer.hello(2, 2, "9".repeat(65)), 0),
                raw("READY with a payload", Sender.WORKER, RawIpcPeer.frame(Type.READY.code, 0, 0, 0, new byte[]{'x'}), 0),
                raw("a frame shorter than the payload it announces", Sender.WORKER, Arrays.copyOf(RawIpcPeer.hello(), IpcMessage.SIZE + 2), 1),
                raw("a frame longer than the payload it announces", Sender.MASTER, Arrays.copyOf(RawIpcPeer.message(Type.PING, 0, 0, 0), IpcMessage.SIZE + 8), 0),
                raw("a frame announcing 257 bytes of payload", Sender.MASTER, RawIpcPeer.frame(0x80 | 0x33, 0, 0, 0, new byte[257]), 1),
                raw("an unknown type not marked optional, with a payload", Sender.WORKER, RawIpcPeer.frame(0x33, 0, 0, 0, new byte[]{1, 2}), 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void aMessageThatMayNotCarryWhatItCarriesIsRefusedWithEveryDescriptorClosed(Attack attack) throws Exception {
        try (IpcChannel.Reader reader = channel.reader(attack.from())) {
            long before = openDescriptors();
            send(attack);

            Object outcome = readOrFail(reader);
            assertThat("descriptors open in this process", openDescriptors(), is(before));
            assertThat(outcome, is(instanceOf(ProtocolException.class)));
            assertThat(((ProtocolException) outcome).getMessage(), containsString("refused an IPC message from the " + attack.from()));

            Type good = attack.from() == Sender.MASTER ? Type.PING : Type.PONG;
            peer.send(RawIpcPeer.message(good, 0, 0, 0));
            assertThat("the next message, read after the refused one", reader.read().type(), is(good));
        }
    }

    @ParameterizedTest(name = "from the {0}")
    @org.junit.jupiter.params.provider.EnumSource(Sender.class)
    void anUnknownTypeMarkedOptionalIsSkippedWithItsDescriptorsClosed(Sender from) throws Exception {
        try (IpcChannel.Reader reader = channel.reader(from)) {
            long before = openDescriptors();
            int[] passed = RawIpcPeer.descriptors(3);
            peer.send(RawIpcPeer.frame(0x80 | 0x33, 0, 0, 0, "a newer peer's news".getBytes(java.nio.charset.StandardCharsets.US_ASCII)), passed);
            peer.send(RawIpcPeer.frame(0xff, 9, 9, 9, new byte[IpcMessage.MAX_PAYLOAD]), passed);
            RawIpcPeer.closeAll(passed);
            Type good = from == Sender.MASTER ? Type.PING : Type.PONG;
            peer.send(RawIpcPeer.message(good, 0, 0, 0));

            assertThat("the message after the skipped ones", reader.read().type(), is(good));
            assertThat("descriptors open in this process", openDescriptors(), is(before));
        }
    }

    @Test
    void aHelloCarriesItsVersionsAndText() throws Exception {
        try (IpcChannel.Reader reader = channel.reader(Sender.WORKER)) {
            peer.send(RawIpcPeer.hello(5, 3, "1.2.3-beta"));
            IpcMessage hello = reader.read();
            assertThat(hello.type(), is(Type.HELLO));
            assertThat(hello.highestVersion(), is(5));
            assertThat(hello.oldestVersion(), is(3));
            assertThat(hello.text(), is("1.2.3-beta"));
        }
    }

    @Test
    void aHandoffWithOneDescriptorOwnsIt() throws Exception {
        try (IpcChannel.Reader reader = channel.reader(Sender.MASTER)) {
            long before = openDescriptors();
            int[] passed = RawIpcPeer.descriptors(1);
            peer.send(RawIpcPeer.message(Type.HANDOFF, 6, 0, 42), passed);
            RawIpcPeer.closeAll(passed);

            IpcMessage handoff = reader.read();
            assertThat(handoff.type(), is(Type.HANDOFF));
            assertThat(handoff.family(), is(6));
            assertThat(handoff.id(), is(42L));
            assertThat("the descriptor handed over", Files.exists(Path.of("/proc/self/fd/" + handoff.fd())), is(true));
            assertThat(openDescriptors(), is(before + 1));
            Unix.close(handoff.fd());
            assertThat(openDescriptors(), is(before));
        }
    }

    @Test
    void aCloseReportOfAnyPositiveCountReachesTheMaster() throws Exception {
        try (IpcChannel.Reader reader = channel.reader(Sender.WORKER)) {
            peer.send(RawIpcPeer.message(Type.CLOSED, 0, 3, 0));
            IpcMessage closed = reader.read();
            assertThat(closed.type(), is(Type.CLOSED));
            assertThat(closed.count(), is(3));
            assertThat(closed.fd(), is(-1));
        }
    }

    /** What the reader made of the message: the message, or what it threw. */
    private static Object readOrFail(IpcChannel.Reader reader) {
        try {
            return reader.read();
        } catch (IOException e) {
            return e;
        }
    }

    private void send(Attack attack) throws IOException {
        int[][] groups = new int[attack.cmsgs().length][];
        try {
            for (int i = 0; i < groups.length; i++) groups[i] = RawIpcPeer.descriptors(attack.cmsgs()[i]);
            peer.send(attack.data(), groups);
        } finally {
            // Our own copies: what the reader got are copies the kernel made for it.
            RawIpcPeer.closeAll(Arrays.stream(groups).filter(group -> group != null).toArray(int[][]::new));
        }
    }

    private static Arguments attack(String name, Sender from, Type type, int family, int count, long id, int... cmsgs) {
        return raw(name, from, RawIpcPeer.message(type, family, count, id), cmsgs);
    }

    private static Arguments raw(String name, Sender from, byte[] data, int... cmsgs) {
        return arguments(new Attack(name, from, data, cmsgs));
    }

    private static byte[] unknownType() {
        byte[] data = RawIpcPeer.message(Type.PING, 0, 0, 0);
        data[0] = 99;
        return data;
    }

    static long openDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
