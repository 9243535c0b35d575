package io.herd;

import io.herd.ipc.JdkSockets;
import io.herd.ipc.Unix;

import java.io.IOException;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Shared dispatch: one of the app's listening sockets, passed by the master (a LISTENER message),
 * and the platform thread, {@code herd-accept}, that accepts from it for the app.
 *
 * <p>The thread accepts only on demand: while more of the app's threads wait in
 * {@link HerdWorker#accept()} than connections are queued for them ({@link Demand}). So at most one
 * connection per waiting app thread leaves the kernel's queue early; the rest wait there for
 * whichever worker is free, and a worker that dies loses only what its app had taken. It accepts
 * in blocking mode, so the kernel wakes one blocked worker per connection, in turn.
 *
 * <p>Why not on the app's own thread: a health check handed off over IPC could not wake an app
 * thread blocked in this socket's accept, and an app accepting from a virtual thread would have
 * the JDK set O_NONBLOCK on the listening socket, which every worker's copy shares.
 *
 * <p>{@link #close()} closes this process's descriptor only: the JDK wakes the blocked thread by
 * swapping the descriptor for a dead one (dup2), never by shutdown(2), so the socket keeps
 * listening for the master and the other workers, and connections queued in it stay queued.
 */
final class SharedListener implements Runnable {
    /** After an accept error (out of descriptors, say) the thread pauses this long rather than spin. */
    private static final long ERROR_PAUSE_MILLIS = 50;

    /** Where accepted connections go, and what says when to accept: the worker's queue for its app's accept() calls. */
    interface Demand {
        /** Blocks until an app thread waits for a connection none queued can give it; false once the worker is closed. */
        boolean await() throws InterruptedException;

        /** Queues a connection this thread accepted, for the next app thread in accept(). */
        void accepted(SocketChannel connection);

        /**
         * This thread accepts no more: whatever it accepted has been queued.
         *
         * @param failure why it stopped though nobody closed it, or null when {@link #close()} ended it
         */
        void ended(String failure);
    }

    private final int fd;
    private final ServerSocketChannel server;
    private final Demand demand;

    private SharedListener(int fd, ServerSocketChannel server, Demand demand) {
        this.fd = fd;
        this.server = server;
        this.demand = demand;
    }

    /**
     * Takes a descriptor the master passed as a listening socket to accept from. It must be one:
     * a listening TCP stream socket of the protocol family the message said. Anything else is the
     * master's mistake (or not the master), and the descriptor is closed.
     *
     * @throws ProtocolException when the descriptor is not such a socket, naming what it is
     */
    static SharedListener of(int fd, int family, Demand demand) throws IOException {
        try {
            String problem = problem(fd, family);
            if (problem != null) throw new ProtocolException("LISTENER whose descriptor is " + problem);
            StandardProtocolFamily protocol = family == 6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
            return new SharedListener(fd, JdkSockets.serverChannelOf(fd, protocol), demand);
        } catch (IOException | RuntimeException e) {
            Unix.close(fd);
            throw e;
        }
    }

    /** What makes {@code fd} no listening TCP socket of {@code family} (4 or 6), or null. */
    private static String problem(int fd, int family) throws IOException {
        Unix.SocketKind kind = Unix.socketKind(fd);
        if (kind == null) return "not a socket";
        if (kind.type() != Unix.SOCK_STREAM) return "a socket of type " + kind.type() + ", not a stream";
        int expected = family == 6 ? Unix.AF_INET6 : Unix.AF_INET;
        if (kind.domain() != expected) return "a socket of domain " + kind.domain() + ", not IPv" + family + "'s (" + expected + ")";
        if (!kind.listening()) return "a TCP socket that is not listening";
        return null;
    }

    /** Starts accepting for the app, on a daemon platform thread of its own. */
    void start() {
        Thread thread = new Thread(this, "herd-accept");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void run() {
        String failure = null;
        try {
            while (demand.await()) {
                SocketChannel connection;
                try {
                    connection = server.accept();
                } catch (ClosedChannelException closed) { // AsynchronousCloseException too: close() woke it
                    return;
                } catch (IOException e) {
                    // EMFILE, say: the connection stays in the kernel's queue, for this worker or another.
                    // A socket that no longer listens (shut down by someone) would fail for ever instead.
                    if (!stillListening()) {
                        failure = "the shared listening socket no longer listens (" + e.getMessage() + ")";
                        return;
                    }
                    Thread.sleep(ERROR_PAUSE_MILLIS);
                    continue;
                }
                demand.accepted(connection);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = "its accept thread was interrupted";
        } catch (RuntimeException | Error e) {
            failure = "its accept thread failed: " + e;
            throw e;
        } finally {
            demand.ended(failure);
        }
    }

    private boolean stillListening() {
        try {
            Unix.SocketKind kind = Unix.socketKind(fd);
            return kind != null && kind.listening();
        } catch (IOException e) {
            return false;
        }
    }

    /** Stops accepting: closes this process's descriptor only (see the class comment). */
    void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // the descriptor is released either way
        }
    }
}
