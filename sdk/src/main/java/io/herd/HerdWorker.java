package io.herd;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;

/**
 * herd's worker SDK: where a server gets its connections from.
 *
 * <pre>{@code
 * HerdWorker worker = HerdWorker.start(new InetSocketAddress("127.0.0.1", 8080));
 * worker.onShutdown(() -> myServer.drain());   // optional: a graceful stop
 * worker.ready();                              // from now on herd sends connections here
 * while (true) {
 *     SocketChannel connection = worker.accept();
 *     Thread.startVirtualThread(() -> serve(connection));
 * }
 * }</pre>
 *
 * <p>Under herd (the {@code HERD_IPC} environment variable is set) the master owns the port:
 * {@link #accept()} returns the connections it hands over, as real, blocking
 * {@link SocketChannel}s whose remote address is the client (in shared dispatch, the ones this
 * worker accepts from the app's listening socket, which the master passed it, while the app
 * waits in {@code accept()}). Alone, the same code binds the
 * address itself, so an app runs unchanged with or without herd.
 *
 * <p>One per JVM; every method is safe to call from any thread, virtual threads included.
 */
public abstract sealed class HerdWorker implements Closeable permits ManagedWorker, StandaloneWorker {

    HerdWorker() {
        // only this package's two kinds of worker
    }

    /**
     * Starts taking connections: from the herd master when this JVM is one of its workers,
     * otherwise by binding {@code standaloneAddress}.
     */
    public static HerdWorker start(InetSocketAddress standaloneAddress) throws IOException {
        String ipc = System.getenv("HERD_IPC");
        if (ipc == null || ipc.isBlank()) return new StandaloneWorker(standaloneAddress);
        String instance = System.getenv("HERD_INSTANCE");
        return new ManagedWorker(java.nio.file.Path.of(ipc), System.getenv("HERD_APP"), instance == null ? 0 : Integer.parseInt(instance));
    }

    /**
     * Blocks until the next connection. Safe from many threads at once.
     *
     * <p>In shared dispatch a connection this worker had already accepted from the listening
     * socket when it closed is still returned after {@link #close()}: no other worker can have
     * it any more, so the app serves it rather than have it reset. There are a few at most:
     * about one for each thread that was waiting here.
     *
     * @throws ClosedChannelException once the worker is shutting down or closed (and, in shared
     *                                dispatch, holds no connection it accepted): stop accepting
     */
    public abstract SocketChannel accept() throws IOException;

    /**
     * Tells herd this worker is ready to serve: it gets connections only from now on, and a
     * reload waits for this before it retires an old worker. Alone, it does nothing.
     */
    public abstract void ready() throws IOException;

    /**
     * What to run when herd asks this worker to stop gracefully (a graceful reload, a scale-down,
     * a service stop): finish the requests in flight, close idle connections, then return.
     * The JVM exits when it returns. Without one, the worker exits at once. It also runs when the
     * JVM is asked to stop by a signal (SIGTERM), under herd and alone.
     */
    public abstract void onShutdown(Runnable drain);

    /** True when this JVM is a herd worker, false when the app runs alone. */
    public abstract boolean isManaged();

    /** The herd app this worker belongs to ({@code HERD_APP}); "standalone" when alone. */
    public abstract String app();

    /** This worker's instance index ({@code HERD_INSTANCE}): 0 to N-1, the lowest free one; 0 alone. */
    public abstract int instance();

    /** Stops accepting; connections already accepted stay open (see {@link #accept()} for shared dispatch's). */
    @Override
    public abstract void close();
}
