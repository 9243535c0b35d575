package io.herd.ipc;

import io.herd.ipc.IpcMessage.Sender;
import io.herd.ipc.IpcMessage.Type;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * IPC 3's sends ({@link IpcChannel#sendHandoffs}, {@link IpcChannel#sendAcks},
 * {@link IpcChannel#sendListener}, {@link IpcChannel#sendAccepted}) between two real channel
 * ends in this process, each read by a real {@link IpcChannel.Reader}: what one end sends, the
 * other reads; a channel agreed at IPC 2 carries none of them; a batch is sent whole or not at all.
 */
@Timeout(60)
class IpcSendTest {
    @TempDir
    Path dir;

    private IpcChannel master;
    private IpcChannel worker;
    private IpcChannel.Reader mastersReader;
    private IpcChannel.Reader workersReader;

    @BeforeEach
    void connect() throws Exception {
        IpcChannel.Listener listener = new IpcChannel.Listener(dir.resolve("ipc.sock"));
        CompletableFuture<IpcChannel> masterSide = CompletableFuture.supplyAsync(() -> {
            try {
                return IpcChannel.acceptFrom(listener, ProcessHandle.current().pid(), 10_000, () -> true);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        worker = IpcChannel.connect(listener.path());
        master = masterSide.get(10, TimeUnit.SECONDS);
        mastersReader = master.reader(Sender.WORKER);
        workersReader = worker.reader(Sender.MASTER);
    }

    @AfterEach
    void disconnect() {
        mastersReader.close();
        workersReader.close();
    }

    /** Both ends agree on {@code version}, as each does after the handshake. */
    private void agree(int version) {
        mastersReader.agreed(version);
        workersReader.agreed(version);
    }

    @Test
    void whatIpc3SendsIsReadAsSent() throws Exception {
        agree(3);
        int[] connections = RawIpcPeer.descriptors(3);
        int[] listening = RawIpcPeer.descriptors(1);
        try {
            long[] ids = {11, 12, 13, 99};
            assertThat(master.sendHandoffs(ids, connections, 3, 6, false), is(true));
            assertThat(master.sendListener(listening[0], 4, false), is(true));
            worker.sendAcks(new long[]{11, 13}, 2);
            worker.sendAccepted(7);

            IpcMessage handoffs = workersReader.read();
            assertThat(handoffs.type(), is(Type.HANDOFFS));
            assertThat(handoffs.family(), is(6));
            assertThat(handoffs.count(), is(3));
            assertThat("the first 3 ids", handoffs.ids(), is(new long[]{11, 12, 13}));
            assertThat("descriptors", handoffs.fds().length, is(3));
            RawIpcPeer.closeAll(handoffs.fds());
            IpcMessage listener = workersReader.read();
            assertThat(listener.type(), is(Type.LISTENER));
            assertThat(listener.family(), is(4));
            Unix.close(listener.fd());
            IpcMessage acks = mastersReader.read();
            assertThat(acks.type(), is(Type.ACKS));
            assertThat(acks.ids(), is(new long[]{11, 13}));
            IpcMessage accepted = mastersReader.read();
            assertThat(accepted.type(), is(Type.ACCEPTED));
            assertThat(accepted.count(), is(7));
        } finally {
            RawIpcPeer.closeAll(connections, listening);
        }
    }

    /** A batch of one is the single message an IPC 2 peer knows: the caller needs no case of its own for it. */
    @Test
    void aBatchOfOneIsAHandoffOrAnAckAndGoesOnAChannelAgreedAtIpc2() throws Exception {
        agree(2);
        int[] connection = RawIpcPeer.descriptors(1);
        try {
            assertThat(master.sendHandoffs(new long[]{42, 43}, new int[]{connection[0], -1}, 1, 4, false), is(true));
            worker.sendAcks(new long[]{42, 43}, 1);

            IpcMessage handoff = workersReader.read();
            assertThat(handoff.type(), is(Type.HANDOFF));
            assertThat(handoff.id(), is(42L));
            assertThat(handoff.family(), is(4));
            assertThat("descriptors", handoff.fds().length, is(1));
            Unix.close(handoff.fd());
            IpcMessage ack = mastersReader.read();
            assertThat(ack.type(), is(Type.ACK));
            assertThat(ack.id(), is(42L));
        } finally {
            RawIpcPeer.closeAll(connection);
        }
    }

    /**
     * A master at IPC 3 talking to a worker at IPC 2 (or the other way round) agrees on 2: a
     * send of what only IPC 3 has is a bug of the caller's, and fails before anything is sent.
     */
    @Test
    void onAChannelAgreedAtIpc2NoIpc3MessageIsSent() throws Exception {
        agree(2);
        int[] fds = RawIpcPeer.descriptors(2);
        try {
            long[] ids = {1, 2};
            assertRefusedByTheSender(Type.HANDOFFS, () -> master.sendHandoffs(ids, fds, 2, 4, false));
            assertRefusedByTheSender(Type.HANDOFFS, () -> master.send(IpcMessage.handoffs(ids, fds, 4), false));
            assertRefusedByTheSender(Type.LISTENER, () -> master.sendListener(fds[0], 4, false));
            assertRefusedByTheSender(Type.ACKS, () -> worker.sendAcks(ids, 2));
            assertRefusedByTheSender(Type.ACCEPTED, () -> worker.sendAccepted(1));

            master.send(IpcMessage.of(Type.PING), false);
            worker.send(IpcMessage.of(Type.PONG), false);
            assertThat("the first message the worker reads", workersReader.read().type(), is(Type.PING));
            assertThat("the first message the master reads", mastersReader.read().type(), is(Type.PONG));
        } finally {
            RawIpcPeer.closeAll(fds);
        }
    }

    private static void assertRefusedByTheSender(Type type, Executable send) {
        IllegalStateException refused = assertThrows(IllegalStateException.class, send);
        assertThat(refused.getMessage(), is(type + " is a message of IPC 3, on a channel agreed at IPC 2"));
    }

    @Test
    void aBatchOfNoneOrMoreThan32OrMoreThanItsArraysHoldIsRefusedBeforeAnythingIsSent() throws Exception {
        agree(3);
        long[] ids = new long[IpcMessage.MAX_BATCH + 1];
        int[] fds = new int[IpcMessage.MAX_BATCH + 1];
        assertThat(assertThrows(IllegalArgumentException.class, () -> master.sendHandoffs(ids, fds, 0, 4, false)).getMessage(),
                is("0 handoffs, not 1 to 32"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> master.sendHandoffs(ids, fds, 33, 4, false)).getMessage(),
                is("33 handoffs, not 1 to 32"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> master.sendHandoffs(ids, new int[2], 3, 4, false)).getMessage(),
                is("3 handoffs from arrays of 33 ids and 2 descriptors"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> worker.sendAcks(ids, 33)).getMessage(), is("33 acks, not 1 to 32"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> worker.sendAcks(new long[1], 2)).getMessage(),
                is("2 acks from an array of 1 ids"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> worker.sendAccepted(0)).getMessage(),
                is("ACCEPTED of 0 connections, not at least 1"));

        master.send(IpcMessage.of(Type.PING), false);
        assertThat("the first message the worker reads", workersReader.read().type(), is(Type.PING));
    }

    /**
     * SOCK_SEQPACKET sends a message whole or not at all: a HANDOFFS that does not fit the
     * worker's full receive queue is not sent, none of its descriptors arrives, and the channel
     * is not broken: once the worker has read, the same batch goes.
     */
    @Test
    void aBatchThatDoesNotFitTheQueueIsNotSentAtAllAndTheChannelStaysUsable() throws Exception {
        agree(3);
        int queued = 0;
        while (master.send(IpcMessage.of(Type.PING), true)) {
            if (++queued > 100_000) throw new AssertionError("the worker's receive queue took 100000 PINGs and was never full");
        }
        int[] fds = RawIpcPeer.descriptors(2);
        try {
            long[] ids = {7, 8};
            assertThat("sent into a full queue", master.sendHandoffs(ids, fds, 2, 4, true), is(false));

            for (int i = 0; i < queued; i++) assertThat("queued message " + i, workersReader.read().type(), is(Type.PING));
            assertThat("sent once the queue was read", master.sendHandoffs(ids, fds, 2, 4, true), is(true));
            IpcMessage handoffs = workersReader.read();
            assertThat("the message after the PINGs", handoffs.type(), is(Type.HANDOFFS));
            assertThat(handoffs.ids(), is(ids));
            assertThat("descriptors", handoffs.fds().length, is(2));
            RawIpcPeer.closeAll(handoffs.fds());
        } finally {
            RawIpcPeer.closeAll(fds);
        }
    }
}
