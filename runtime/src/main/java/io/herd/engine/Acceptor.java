package io.herd.engine;

import io.herd.config.ConfigException;
import io.herd.ipc.IpcMessage;
import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
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
 */
final class Acceptor extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(Acceptor.class.getName());
    private static final int BACKLOG = 4096;
    /** After an accept error (out of file descriptors, say) the thread pauses this long rather than spin. */
    private static final long ERROR_PAUSE_MILLIS = 50;

    /** @param adopted a socket systemd passed (see {@link PassedSockets}): never closed on unbind, given back */
    private record Endpoint(ServerSocketChannel server, Cluster cluster, int family, boolean adopted) {
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
            add(new Endpoint(server, cluster, v6 ? 6 : 4, false));
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
        add(new Endpoint(server, cluster, v6 ? 6 : 4, true));
    }

    private void add(Endpoint endpoint) throws IOException {
        endpoint.server().configureBlocking(false);
        endpoints.add(endpoint);
        if (isRunning()) onAcceptThread(() -> register(endpoint)).join();
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
                if (!endpoint.adopted()) closeQuietly(endpoint.server());
                else if (selector != null && selector.isOpen()) deregister(endpoint.server());
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
        for (Endpoint endpoint : endpoints) register(endpoint);
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
        for (Endpoint endpoint : endpoints) closeQuietly(endpoint.server());
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
