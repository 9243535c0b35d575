package io.herd.engine;

import io.herd.config.ConfigException;
import io.herd.ipc.IpcChannel;
import io.herd.ipc.IpcMessage;
import io.herd.ipc.JdkSockets;
import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The master's one accept thread: a NIO selector over every app's listening sockets. The
 * connections accepted at one wake-up go together to their app's {@link Dispatcher#dispatch}; the
 * payload is never read here.
 *
 * <p>An app in shared dispatch has its sockets bound here too, but never accepted on: each worker
 * in rotation gets a copy ({@link #listeners}) and accepts from it. The master keeps its own copy
 * open for the app's life, which is what keeps the connections queued in the kernel when workers
 * leave or die: a listening socket stops only when its last descriptor closes.
 */
final class Acceptor extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(Acceptor.class.getName());
    private static final int BACKLOG = 4096;
    /** After an accept error (out of file descriptors, say) the thread pauses this long rather than spin. */
    private static final long ERROR_PAUSE_MILLIS = 50;

    /**
     * Shared dispatch: one of an app's listening sockets, as it is passed to each of its workers.
     */
    interface SharedSocket {
        /**
         * Passes the socket to a worker over its channel (a LISTENER message).
         *
         * @return false only when {@code dontWait} and the worker's queue was full
         * @throws IOException when the channel is broken, or the socket closed (the app is going)
         */
        boolean passTo(IpcChannel channel, boolean dontWait) throws IOException;
    }

    /**
     * @param adopted a socket systemd passed (see {@link PassedSockets}): never closed on unbind, given back
     * @param shared  shared dispatch: never accepted on here, left blocking (its workers accept), and passed on
     */
    private record Endpoint(ServerSocketChannel server, Cluster cluster, int family, boolean adopted, boolean shared)
            implements SharedSocket {
        /**
         * Under the lock {@link #close()} takes: a descriptor number is read and sent only while
         * it is still this socket's, never once the kernel may have given it to another file.
         */
        @Override
        public synchronized boolean passTo(IpcChannel channel, boolean dontWait) throws IOException {
            if (!server.isOpen()) throw new ClosedChannelException();
            return channel.sendListener(JdkSockets.fdOf(server), family, dontWait);
        }

        /** Closes this process's descriptor (close(2) only: the JDK never shuts a listening socket down). */
        synchronized void close() {
            closeQuietly(server);
        }
    }

    private final FatalErrors fatalErrors;
    private final List<Endpoint> endpoints = new CopyOnWriteArrayList<>();
    /** Changes to the selector's registrations, done by the accept thread itself. */
    private final ConcurrentLinkedQueue<Runnable> changes = new ConcurrentLinkedQueue<>();
    private volatile Selector selector;
    private Thread thread;
    private volatile boolean running;
    private long nextId;
    /** The connections one wake-up accepted on one endpoint, on their way to its dispatcher (accept thread only). */
    private final List<Connection> collected = new ArrayList<>();
    private long lastErrorLog;
    /** What select does with each listening socket that has connections: made once, not an iterator a wake-up. */
    private final Consumer<SelectionKey> acceptReady = key -> {
        if (key.isValid()) acceptAll((Endpoint) key.attachment());
    };

    Acceptor(FatalErrors fatalErrors) {
        this.fatalErrors = fatalErrors;
    }

    /** Binds one listening socket; may run as root, before privileges are dropped. */
    void bind(Cluster cluster, InetSocketAddress address, Path source) throws ConfigException {
        boolean v6 = address.getAddress() instanceof Inet6Address;
        ServerSocketChannel server = null;
        try {
            server = ServerSocketChannel.open(v6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(address, BACKLOG);
            add(new Endpoint(server, cluster, v6 ? 6 : 4, false, cluster.config().shared()));
        } catch (IOException e) {
            closeQuietly(server);
            throw new ConfigException(source + ": app." + cluster.name() + ".listen: cannot listen on port "
                    + address.getPort() + " of " + address.getAddress().getHostAddress() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Accepts for {@code cluster} on a listening socket systemd passed, in place of binding one.
     * Unbinding gives it back open, and stopping only closes this process's descriptor.
     */
    void adopt(Cluster cluster, ServerSocketChannel server, boolean v6) throws IOException {
        add(new Endpoint(server, cluster, v6 ? 6 : 4, true, cluster.config().shared()));
    }

    private void add(Endpoint endpoint) throws IOException {
        if (endpoint.shared()) {
            // Its workers accept in blocking mode, which is what has the kernel wake one of them per
            // connection. O_NONBLOCK belongs to the open file description every copy shares: set
            // (systemd's NonBlocking=, say), each worker's accept would poll and race for each
            // connection instead. Switching it off and on again clears it.
            endpoint.server().configureBlocking(false);
            endpoint.server().configureBlocking(true);
            endpoints.add(endpoint);
            return;
        }
        endpoint.server().configureBlocking(false);
        endpoints.add(endpoint);
        if (isRunning()) onAcceptThread(() -> register(endpoint)).join();
    }

    /**
     * Shared dispatch: the listening sockets of {@code cluster}, to pass to each worker that
     * enters its rotation. They stay the master's too, open until the app goes.
     */
    List<SharedSocket> listeners(Cluster cluster) {
        List<SharedSocket> shared = new ArrayList<>();
        for (Endpoint endpoint : endpoints) {
            if (endpoint.cluster() == cluster && endpoint.shared()) shared.add(endpoint);
        }
        return shared;
    }

    /**
     * Stops accepting for {@code cluster} (while running, too) and closes the listening sockets it
     * bound.
     *
     * @return the adopted sockets it accepted on, open and no longer registered: systemd listens on
     *         them still, so the next app on their address takes them again
     */
    List<ServerSocketChannel> unbind(Cluster cluster) {
        List<Endpoint> gone = endpoints.stream().filter(endpoint -> endpoint.cluster() == cluster).toList();
        endpoints.removeAll(gone);
        Runnable close = () -> {
            for (Endpoint endpoint : gone) {
                if (!endpoint.adopted()) endpoint.close();
                else if (!endpoint.shared() && selector != null && selector.isOpen()) deregister(endpoint.server());
            }
        };
        if (isRunning()) onAcceptThread(close).join();
        else close.run();
        return gone.stream().filter(Endpoint::adopted).map(Endpoint::server).toList();
    }

    /**
     * Cancels a channel's registration and lets the selector forget it now, so that it may be
     * registered again (a cancelled key lingers until the next select). The readiness of other
     * sockets this select sees is not lost: the selector reports it again next time.
     */
    private void deregister(ServerSocketChannel server) {
        SelectionKey key = server.keyFor(selector);
        if (key == null) return;
        key.cancel();
        try {
            selector.selectNow(ignored -> { });
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Runs {@code change} on the accept thread, between two selects; completes once it ran. */
    CompletableFuture<Void> onAcceptThread(Runnable change) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        changes.add(() -> {
            try {
                change.run();
                done.complete(null);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        selector.wakeup();
        return done;
    }

    /**
     * Completes once the accept thread has gone round its loop: it still accepts (the service's
     * watchdog asks). Not running, it has nothing to watch, and answers at once.
     */
    CompletableFuture<Void> roundTrip() {
        if (!running) return CompletableFuture.completedFuture(null);
        return onAcceptThread(() -> {
        });
    }

    private void register(Endpoint endpoint) {
        try {
            endpoint.server().register(selector, SelectionKey.OP_ACCEPT, endpoint);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The addresses actually bound (useful when a port was 0). */
    List<InetSocketAddress> addresses(Cluster cluster) {
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (Endpoint endpoint : endpoints) {
            if (endpoint.cluster() != cluster) continue;
            try {
                addresses.add((InetSocketAddress) endpoint.server().getLocalAddress());
            } catch (IOException ignored) {
                // closed: not listening any more
            }
        }
        return addresses;
    }

    @Override
    protected void doStart() throws IOException {
        selector = Selector.open();
        for (Endpoint endpoint : endpoints) {
            if (!endpoint.shared()) register(endpoint);
        }
        running = true;
        thread = new Thread(fatalErrors.guarded(this::acceptLoop), "herd-accept");
        thread.start();
    }

    @Override
    protected void doStop() throws InterruptedException {
        running = false;
        for (Runnable change; (change = changes.poll()) != null; ) change.run();
        if (selector != null) selector.wakeup();
        if (thread != null) thread.join(10_000);
        // close(2) only, adopted sockets included: a ServerSocketChannel never calls shutdown(2),
        // which on a socket systemd shares would stop it listening for systemd too.
        for (Endpoint endpoint : endpoints) endpoint.close();
        closeQuietly(selector);
    }

    private void acceptLoop() {
        while (running) {
            try {
                selector.select(acceptReady);
                for (Runnable change; (change = changes.poll()) != null; ) change.run();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.ERROR, "accept loop", e);
                pause();
            }
        }
    }

    /**
     * Accepts every connection pending on {@code endpoint} and dispatches them together, so that
     * a worker gets each wake-up's share in one message. A flood is dispatched every
     * {@link #flushAt} connections rather than held back until the backlog is empty.
     */
    private void acceptAll(Endpoint endpoint) {
        Dispatcher dispatcher = endpoint.cluster().dispatcher();
        try {
            while (running) {
                SocketChannel channel = endpoint.server().accept();
                if (channel == null) return;
                try {
                    collected.add(new Connection(++nextId, channel, endpoint.family()));
                } catch (RuntimeException e) {
                    closeQuietly(channel);
                    throw e;
                }
                if (collected.size() >= flushAt(dispatcher)) dispatch(dispatcher);
            }
        } catch (IOException e) {
            dispatch(dispatcher); // first: workers taking them free descriptors
            acceptFailed(endpoint, e);
        } finally {
            dispatch(dispatcher);
        }
    }

    /** Typically EMFILE: the connection stays in the backlog until descriptors are free; logged at most every 5 s. */
    private void acceptFailed(Endpoint endpoint, IOException e) {
        long now = System.nanoTime();
        if (now - lastErrorLog > 5_000_000_000L) {
            LOG.log(Level.ERROR, "{0}: accept failed: {1}", endpoint.cluster().name(), e.getMessage());
            lastErrorLog = now;
        }
        pause();
    }

    /** A full message's worth for each worker in rotation: more would wait for the backlog to empty for nothing. */
    private static int flushAt(Dispatcher dispatcher) {
        return IpcMessage.MAX_BATCH * Math.max(1, dispatcher.online());
    }

    /** Hands what {@link #acceptAll} collected to the app's dispatcher, which keeps none of the list. */
    private void dispatch(Dispatcher dispatcher) {
        if (collected.isEmpty()) return;
        try {
            dispatcher.dispatch(collected);
        } finally {
            collected.clear();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(ERROR_PAUSE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(java.io.Closeable closeable) {
        if (closeable == null) return;
        try {
            closeable.close();
        } catch (IOException ignored) {
            // shutting down: nothing to do about it
        }
    }
}
