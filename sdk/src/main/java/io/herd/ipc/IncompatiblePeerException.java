package io.herd.ipc;

import java.net.ProtocolException;

/**
 * The other end of the channel speaks no IPC version this end does: its HELLO (or, from a
 * worker, a first message that is not one) says so. The message is the one line an operator
 * reads, saying what to upgrade or rebuild. Unlike a garbled message, this is not fixed by
 * starting the worker again.
 */
public final class IncompatiblePeerException extends ProtocolException {
    private static final long serialVersionUID = 1L;

    /** Public for the master, which also refuses a worker that speaks too old a version for its app's dispatch. */
    public IncompatiblePeerException(String message) {
        super(message);
    }
}
