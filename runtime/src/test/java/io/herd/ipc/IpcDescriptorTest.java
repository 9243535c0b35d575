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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * A peer that attaches descriptors to what it sends, in any shape, cannot make this process keep
 * one: each message is read by a real {@link IpcChannel} reader from a raw sendmsg, and this
 * process's descriptor count (/proc/self/fd) must be back where it was once the message is read.
 * A refused message leaves the channel usable: the next, good message reads as sent. IPC 3's
 * types are taken only on a channel that agreed on IPC 3.
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

    /**
     * A message and the descriptors attached to it, one array per SCM_RIGHTS control message, and
     * what the refusal must say ("" when only that it is one).
     */
    record Attack(String name, Sender from, byte[] data, int[] cmsgs, String reason) {
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
        assertRefusedWithEveryDescriptorClosed(attack, Protocol.OLDEST, "refused an IPC message from the " + attack.from());
    }

    /** IPC 3's types, in every wrong shape, on a channel that agreed on IPC 3. */
    static Stream<Arguments> refusedAtIpc3() {
        return Stream.of(
                // HANDOFFS: count 2 to 32, as many ids in the payload and as many descriptors
                because("HANDOFFS carrying 1 descriptor, not 2", raw("HANDOFFS of 2 ids with 1 descriptor", Sender.MASTER, handoffs(4, 2, 2), 1)),
                because("HANDOFFS carrying 3 descriptors, not 2", raw("HANDOFFS of 2 ids with 3 descriptors", Sender.MASTER, handoffs(4, 2, 2), 3)),
                because("HANDOFFS carrying no descriptor, not 2", raw("HANDOFFS of 2 ids without a descriptor", Sender.MASTER, handoffs(4, 2, 2))),
                because("HANDOFFS carrying 253 descriptors, not 2", raw("HANDOFFS of 2 ids with 253 descriptors", Sender.MASTER, handoffs(4, 2, 2), 100, 100, 53)),
                because("HANDOFFS with a count of 1, not 2 to 32", raw("HANDOFFS of 1 id", Sender.MASTER, handoffs(4, 1, 1), 1)),
                because("HANDOFFS with a count of 0, not 2 to 32", raw("HANDOFFS of 0 ids", Sender.MASTER, handoffs(4, 0, 0))),
                because("HANDOFFS with a count of -2, not 2 to 32", raw("HANDOFFS of a negative count", Sender.MASTER, handoffs(4, -2, 0), 1)),
                because("HANDOFFS with a count of 33, not 2 to 32", raw("HANDOFFS counting 33, with 32 ids and 33 descriptors", Sender.MASTER, handoffs(4, 33, 32), 33)),
                because("a payload of 264 bytes, more than 256", raw("HANDOFFS of 33 ids and 33 descriptors", Sender.MASTER, handoffs(4, 33, 33), 33)),
                because("HANDOFFS counting 2 with a 24-byte payload, not 16", raw("HANDOFFS counting 2, with 3 ids and 2 descriptors", Sender.MASTER, handoffs(4, 2, 3), 2)),
                because("HANDOFFS counting 3 with a 16-byte payload, not 24", raw("HANDOFFS counting 3, with 2 ids and 3 descriptors", Sender.MASTER, handoffs(4, 3, 2), 3)),
                because("HANDOFFS counting 2 with a 12-byte payload, not 16", raw("HANDOFFS counting 2, with a 12-byte payload", Sender.MASTER, RawIpcPeer.frame(Type.HANDOFFS.code, 4, 2, 0, new byte[12]), 2)),
                because("HANDOFFS of protocol family 0, not 4 or 6", raw("HANDOFFS of protocol family 0", Sender.MASTER, handoffs(0, 2, 2), 2)),
                because("HANDOFFS of protocol family 5, not 4 or 6", raw("HANDOFFS of protocol family 5", Sender.MASTER, handoffs(5, 2, 2), 2)),
                because("HANDOFFS, which only the master sends", raw("HANDOFFS from a worker", Sender.WORKER, handoffs(4, 2, 2), 2)),
                // LISTENER: family 4 or 6, exactly one descriptor, no payload
                because("LISTENER carrying no descriptor, not 1", attack("LISTENER without a descriptor", Sender.MASTER, Type.LISTENER, 4, 0, 0)),
                because("LISTENER carrying 2 descriptors, not 1", attack("LISTENER with two descriptors in one control message", Sender.MASTER, Type.LISTENER, 4, 0, 0, 2)),
                because("LISTENER carrying 2 descriptors, not 1", attack("LISTENER with one descriptor in each of two control messages", Sender.MASTER, Type.LISTENER, 6, 0, 0, 1, 1)),
                because("LISTENER of protocol family 0, not 4 or 6", attack("LISTENER of protocol family 0", Sender.MASTER, Type.LISTENER, 0, 0, 0, 1)),
                because("LISTENER with a 8-byte payload", raw("LISTENER with a payload", Sender.MASTER, RawIpcPeer.frame(Type.LISTENER.code, 4, 0, 0, new byte[8]), 1)),
                because("LISTENER, which only the master sends", attack("LISTENER from a worker", Sender.WORKER, Type.LISTENER, 4, 0, 0, 1)),
                // ACKS: count 2 to 32, as many ids, no descriptor
                because("ACKS with a count of 1, not 2 to 32", raw("ACKS of 1 id", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 1, 7))),
                because("ACKS with a count of 0, not 2 to 32", raw("ACKS of 0 ids", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 0))),
                because("ACKS with a count of 33, not 2 to 32", raw("ACKS counting 33, with 32 ids", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 33, ids(32)))),
                because("a payload of 264 bytes, more than 256", raw("ACKS of 33 ids", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 33, ids(33)))),
                because("ACKS counting 2 with a 24-byte payload, not 16", raw("ACKS counting 2, with 3 ids", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 2, 7, 8, 9))),
                because("ACKS counting 2 with a 9-byte payload, not 16", raw("ACKS counting 2, with a 9-byte payload", Sender.WORKER, RawIpcPeer.frame(Type.ACKS.code, 0, 2, 0, new byte[9]))),
                because("ACKS carrying 1 descriptor, which it may not", raw("ACKS of 2 ids with a descriptor", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 2, 7, 8), 1)),
                because("ACKS carrying 2 descriptors, which it may not", raw("ACKS of 2 ids with two descriptors", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 2, 7, 8), 2)),
                because("ACKS, which only the worker sends", raw("ACKS from the master", Sender.MASTER, RawIpcPeer.withIds(Type.ACKS, 0, 2, 7, 8))),
                // ACCEPTED: count at least 1, nothing else
                because("ACCEPTED with a count of 0, not at least 1", attack("ACCEPTED with a count of 0", Sender.WORKER, Type.ACCEPTED, 0, 0, 0)),
                because("ACCEPTED with a count of -2147483648, not at least 1", attack("ACCEPTED with the lowest count there is", Sender.WORKER, Type.ACCEPTED, 0, Integer.MIN_VALUE, 0)),
                because("ACCEPTED carrying 1 descriptor, which it may not", attack("ACCEPTED with a descriptor", Sender.WORKER, Type.ACCEPTED, 0, 3, 0, 1)),
                because("ACCEPTED with a 8-byte payload, which it may not carry", raw("ACCEPTED with a payload", Sender.WORKER, RawIpcPeer.frame(Type.ACCEPTED.code, 0, 3, 0, new byte[8]))),
                because("ACCEPTED, which only the worker sends", attack("ACCEPTED from the master", Sender.MASTER, Type.ACCEPTED, 0, 3, 0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedAtIpc3")
    void anIpc3MessageInAWrongShapeIsRefusedWithEveryDescriptorClosed(Attack attack) throws Exception {
        assertRefusedWithEveryDescriptorClosed(attack, 3, "refused an IPC message from the " + attack.from());
    }

    /** IPC 3's types, each well formed, from the side that may send it. */
    static Stream<Arguments> ipc3Messages() {
        return Stream.of(
                raw("HANDOFFS of 2 connections", Sender.MASTER, handoffs(4, 2, 2), 2),
                attack("LISTENER", Sender.MASTER, Type.LISTENER, 6, 0, 0, 1),
                raw("ACKS of 2 connections", Sender.WORKER, RawIpcPeer.withIds(Type.ACKS, 0, 2, 7, 8)),
                attack("ACCEPTED", Sender.WORKER, Type.ACCEPTED, 0, 3, 0));
    }

    /**
     * A master at IPC 3 and a worker at IPC 2 agree on 2: neither may then send what only IPC 3
     * has, and a reader of such a channel refuses it as it refuses any bad message.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("ipc3Messages")
    void anIpc3MessageOnAChannelAgreedAtIpc2IsRefusedWithEveryDescriptorClosed(Attack attack) throws Exception {
        String type = attack.name().split(" ")[0];
        assertRefusedWithEveryDescriptorClosed(attack, 2, type + ", a message of IPC 3, on a channel agreed at IPC 2");
    }

    /** Until the handshake says otherwise, a reader takes the oldest version's types only. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("ipc3Messages")
    void anIpc3MessageOnAChannelNotYetAgreedIsRefusedWithEveryDescriptorClosed(Attack attack) throws Exception {
        assertRefusedWithEveryDescriptorClosed(attack, NOT_TOLD, "a message of IPC 3, on a channel agreed at IPC " + Protocol.OLDEST);
    }

    /** For {@link #assertRefusedWithEveryDescriptorClosed}: the reader is not told any agreed version. */
    private static final int NOT_TOLD = -1;

    /**
     * Reads {@code attack} on a channel agreed at {@code agreed} (or {@link #NOT_TOLD}): it is refused with a message
     * containing {@code reason}, this process holds no descriptor more than before, and the next,
     * good message reads as sent.
     */
    private void assertRefusedWithEveryDescriptorClosed(Attack attack, int agreed, String reason) throws IOException {
        try (IpcChannel.Reader reader = channel.reader(attack.from())) {
            if (agreed != NOT_TOLD) reader.agreed(agreed);
            long before = openDescriptors();
            send(attack);

            Object outcome = readOrFail(reader);
            assertThat("descriptors open in this process", openDescriptors(), is(before));
            assertThat(outcome, is(instanceOf(ProtocolException.class)));
            assertThat(((ProtocolException) outcome).getMessage(), containsString(reason));
            assertThat(((ProtocolException) outcome).getMessage(), containsString(attack.reason()));

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

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(names = {"HANDOFF", "LISTENER"})
    void aHandoffOrAListenerWithOneDescriptorOwnsIt(Type type) throws Exception {
        try (IpcChannel.Reader reader = channel.reader(Sender.MASTER)) {
            reader.agreed(3);
            long before = openDescriptors();
            long id = type == Type.HANDOFF ? 42 : 0;
            int[] passed = RawIpcPeer.descriptors(1);
            peer.send(RawIpcPeer.message(type, 6, 0, id), passed);
            RawIpcPeer.closeAll(passed);

            IpcMessage message = reader.read();
            assertThat(message.type(), is(type));
            assertThat(message.family(), is(6));
            assertThat(message.id(), is(id));
            assertThat("the descriptor handed over", Files.exists(Path.of("/proc/self/fd/" + message.fd())), is(true));
            assertThat(openDescriptors(), is(before + 1));
            Unix.close(message.fd());
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

    @ParameterizedTest(name = "HANDOFFS of {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3, IpcMessage.MAX_BATCH})
    void aHandoffsOwnsOneDescriptorPerIdInOrder(int n) throws Exception {
        try (IpcChannel.Reader reader = channel.reader(Sender.MASTER)) {
            reader.agreed(3);
            long before = openDescriptors();
            long[] sentIds = ids(n);
            int[] passed = RawIpcPeer.descriptors(n);
            peer.send(RawIpcPeer.withIds(Type.HANDOFFS, 6, n, sentIds), passed);
            RawIpcPeer.closeAll(passed);

            IpcMessage handoffs = reader.read();
            assertThat(handoffs.type(), is(Type.HANDOFFS));
            assertThat(handoffs.family(), is(6));
            assertThat(handoffs.count(), is(n));
            assertThat(handoffs.ids(), is(sentIds));
            assertThat("descriptors handed over", handoffs.fds().length, is(n));
            for (int fd : handoffs.fds()) assertThat("descriptor " + fd + " is open", Files.exists(Path.of("/proc/self/fd/" + fd)), is(true));
            assertThat(openDescriptors(), is(before + n));
            RawIpcPeer.closeAll(handoffs.fds());
            assertThat(openDescriptors(), is(before));
        }
    }

    @ParameterizedTest(name = "ACKS of {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, IpcMessage.MAX_BATCH})
    void anAcksCarriesItsIds(int n) throws Exception {
        try (IpcChannel.Reader reader = channel.reader(Sender.WORKER)) {
            reader.agreed(3);
            long[] sentIds = ids(n);
            peer.send(RawIpcPeer.withIds(Type.ACKS, 0, n, sentIds));

            IpcMessage acks = reader.read();
            assertThat(acks.type(), is(Type.ACKS));
            assertThat(acks.ids(), is(sentIds));
            assertThat(acks.fd(), is(-1));
        }
    }

    @Test
    void anAcceptedReportCarriesItsCount() throws Exception {
        try (IpcChannel.Reader fromWorker = channel.reader(Sender.WORKER)) {
            fromWorker.agreed(3);
            peer.send(RawIpcPeer.message(Type.ACCEPTED, 0, 5, 0));
            IpcMessage accepted = fromWorker.read();
            assertThat(accepted.type(), is(Type.ACCEPTED));
            assertThat(accepted.count(), is(5));
        }
    }

    @Test
    void aReaderTakesOnlyAVersionThisCodeSpeaks() {
        try (IpcChannel.Reader reader = channel.reader(Sender.MASTER)) {
            IllegalArgumentException tooOld = assertThrows(IllegalArgumentException.class, () -> reader.agreed(Protocol.OLDEST - 1));
            assertThat(tooOld.getMessage(), containsString("IPC " + (Protocol.OLDEST - 1) + " is not one of the versions this code speaks"));
            assertThrows(IllegalArgumentException.class, () -> reader.agreed(Protocol.VERSION + 1));
            assertThat("the agreed version, unchanged", channel.agreedVersion(), is(Protocol.OLDEST));
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
        return arguments(new Attack(name, from, data, cmsgs, ""));
    }

    /** {@code attack}, whose refusal must say {@code reason}. */
    private static Arguments because(String reason, Arguments attack) {
        Attack plain = (Attack) attack.get()[0];
        return arguments(new Attack(plain.name(), plain.from(), plain.data(), plain.cmsgs(), reason));
    }

    /** A HANDOFFS frame of family {@code family} whose header counts {@code count} and whose payload holds {@code ids} ids. */
    private static byte[] handoffs(int family, int count, int ids) {
        return RawIpcPeer.withIds(Type.HANDOFFS, family, count, ids(ids));
    }

    /** {@code n} distinct connection ids. */
    private static long[] ids(int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = 1_000_000_007L * (i + 1);
        return ids;
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
