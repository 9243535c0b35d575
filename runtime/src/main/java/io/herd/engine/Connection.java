package io.herd.engine;

import io.herd.ipc.JdkSockets;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An accepted client connection on its way to a worker. The master holds its copy of the socket
 * until a worker acknowledges the handoff, so a worker that dies with the connection in flight
 * cannot lose it: the connection goes to the next worker instead. In proxy dispatch the master
 * keeps it, and relays its bytes.
 */
final class Connection {
    final long id;
    final int fd;
    final int family;
    /**
     * A health check's connection ({@link HealthProbe}), not a client's: it is for the one worker
     * it was handed to, never given to another, and not counted among the clients handed off.
     */
    final boolean healthCheck;
    /** When it last began to wait in the app's queue for a ready worker. */
    long waitingSinceNanos;
    private final SocketChannel channel;
    /** Proxy dispatch: worker ports that refused it so far (relay threads only, one at a time). */
    int refusals;
    /** Proxy dispatch: its app's count of open connections, which it is in until the master closes it; else null. */
    private AtomicInteger countedIn;

    Connection(long id, SocketChannel channel, int family) {
        this(id, channel, family, false);
    }

    /** @param healthCheck true for a health check's connection, which only the worker it is handed to may serve */
    Connection(long id, SocketChannel channel, int family, boolean healthCheck) {
        this.id = id;
        this.channel = channel;
        this.fd = JdkSockets.fdOf(channel);
        this.family = family;
        this.healthCheck = healthCheck;
    }

    /** The accepted socket: the master's copy in handoff dispatch, the client's end of a relay in proxy dispatch. */
    SocketChannel channel() {
        return channel;
    }

    /** Proxy dispatch: {@code open} was counted up for it, and is counted down when the master closes it. */
    void countedIn(AtomicInteger open) {
        countedIn = open;
    }

    /**
     * Closes the master's copy. In handoff dispatch the channel is blocking and was never
     * registered with a selector, so the JDK closes it with a plain close(2): a shutdown(2) here
     * would cut the connection the worker now serves. In proxy dispatch it is the client's end.
     */
    void closeMasterCopy() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing to do: the descriptor is released either way.
        }
        if (countedIn != null) {
            countedIn.decrementAndGet();
            countedIn = null;
        }
    }
}
