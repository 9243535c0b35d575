package io.herd;

import io.herd.ipc.IpcMessage;

import java.io.IOException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A worker's acknowledgements of the connections its app takes. Each is sent before the app gets
 * its connection, never ahead: the master gives a dead worker's unacknowledged connections to
 * another worker, and an ACK for one still queued in the worker would lose it.
 *
 * <p>App threads that take connections at the same time share a message: each queues its id,
 * then whoever holds the lock sends all that are queued, in one ACKS. Once a thread holds the
 * lock its id has been sent, by itself or by a thread before it, so it returns. With one app
 * thread accepting, that is one ACK per connection.
 */
final class Acknowledgements {
    /** Sends one message acknowledging the first {@code count} (1 to {@link IpcMessage#MAX_BATCH}) of {@code ids}. */
    interface Sender {
        void send(long[] ids, int count) throws IOException;
    }

    private final Sender sender;
    private final ConcurrentLinkedQueue<Long> queued = new ConcurrentLinkedQueue<>();
    private final ReentrantLock sending = new ReentrantLock();
    private final long[] batch = new long[IpcMessage.MAX_BATCH]; // guarded by sending

    Acknowledgements(Sender sender) {
        this.sender = sender;
    }

    /** Returns once connection {@code id}'s acknowledgement has been sent. */
    void acknowledge(long id) throws IOException {
        queued.add(id);
        sending.lock();
        try {
            boolean sent = false;
            while (!sent) {
                int count = 0;
                for (Long next; count < batch.length && (next = queued.poll()) != null; ) {
                    batch[count++] = next;
                    sent |= next == id;
                }
                if (count == 0) return; // a thread before this one sent it
                sender.send(batch, count);
            }
        } finally {
            sending.unlock();
        }
    }

    /** Ids queued that no message has named yet. */
    int queued() {
        return queued.size();
    }
}
