package io.herd.service;

import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * HAProxy's agent check, one port per app ({@code app.<name>.agent.listen}): each connection
 * gets one line saying how the app looks to the balancer ({@link Availability#agentLine()}), and
 * is closed.
 *
 * <p>One thread accepts on every app's port, and hands each connection to a virtual thread of its
 * own, which works the line out, writes it (a dozen bytes, which a new connection's send buffer
 * always takes whole), shuts its side, reads and drops whatever the client sent already
 * (HAProxy's {@code agent-send}, so the close is a FIN and not a reset), and closes. Working the
 * line out may wait on the app's event thread ({@link BalancerView#of}, up to seconds when it is
 * busy), so the accepting thread never does it: one busy app must not hold every other app's
 * answers. At most {@value #MOST_IN_FLIGHT_PER_APP} answers per app are under way at once; a
 * connection beyond that is closed unanswered (the balancer keeps what it last heard), so a flood
 * on one app's port costs no more than that many threads. Nothing waits for a client: nothing a
 * client sends or fails to send can hold a thread.
 *
 * <p>A port is bound once for the app's life in the service, not its cluster's: bound as the
 * service prepares (before a daemon drops root), or as an app with one is added at run time; a
 * stopped app keeps its port, and answers {@code maint}; a deleted app's port is closed.
 */
final class AgentChecks extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(AgentChecks.class.getName());
    private static final int BACKLOG = 64;
    /** Connections accepted on one port per wake-up, so one busy port cannot starve the others. */
    private static final int ACCEPTS_PER_TURN = 64;
    /** The most bytes read and dropped from a client before its close: HAProxy's agent-send is a line. */
    private static final int MOST_DROPPED = 4096;
    /** After an accept failed (out of descriptors, say), the thread pauses this long rather than spin. */
    private static final long ACCEPT_FAILURE_PAUSE_MILLIS = 100;
    /** Answers under way for one app at most: each may wait seconds on a busy app's event thread. */
    static final int MOST_IN_FLIGHT_PER_APP = 16;

    private final BalancerView view;
    /** Each app's bound port, by app name. */
    private final Map<String, ServerSocketChannel> ports = new ConcurrentHashMap<>();
    /** Work for the selector thread: a port to register, or one to close. */
    private final ConcurrentLinkedQueue<Consumer<Selector>> changes = new ConcurrentLinkedQueue<>();
    /** Each app's answers under way, at most {@value #MOST_IN_FLIGHT_PER_APP}. */
    private final Map<String, Semaphore> inFlight = new ConcurrentHashMap<>();
    private volatile Selector selector;
    private Thread thread;
    /** Works out and writes each answer, off the accepting thread. */
    private ExecutorService answering;

    AgentChecks(BalancerView view) {
        this.view = view;
    }

    /**
     * Binds {@code app}'s agent port (any time: before the start, or while the service runs).
     *
     * @throws IOException when the address cannot be bound; nothing is left open
     */
    synchronized void bind(String app, InetSocketAddress address) throws IOException {
        if (ports.containsKey(app)) return; // a stopped app started again: its port never closed
        ServerSocketChannel channel = ServerSocketChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(address, BACKLOG);
            channel.configureBlocking(false);
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot listen on " + address.getHostString() + ":" + address.getPort() + " for app " + app
                    + "'s agent check: " + e.getMessage(), e);
        }
        ports.put(app, channel);
        onSelectorThread(running -> register(running, app, channel));
    }

    /** Closes {@code app}'s agent port, if it has one: the app is deleted. */
    synchronized void close(String app) {
        ServerSocketChannel channel = ports.remove(app);
        inFlight.remove(app);
        if (channel == null) return;
        if (selector == null) {
            closeQuietly(channel);
            return;
        }
        // On the selector thread: its next select deregisters the port, and only then is it really closed.
        onSelectorThread(running -> {
            SelectionKey key = channel.keyFor(running);
            if (key != null) key.cancel();
            closeQuietly(channel);
        });
    }

    /** Where {@code app}'s agent port is bound, or null (tests, and the start's log line). */
    InetSocketAddress address(String app) {
        ServerSocketChannel channel = ports.get(app);
        try {
            return channel == null ? null : (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException closed) {
            return null;
        }
    }

    /** Closes every port: the service could not start. */
    synchronized void closeAll() {
        for (String app : Map.copyOf(ports).keySet()) close(app);
    }

    @Override
    protected synchronized void doStart() throws IOException {
        Selector opened = Selector.open();
        ports.forEach((app, channel) -> register(opened, app, channel));
        selector = opened;
        answering = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("herd-agent-answer-", 0).factory());
        thread = Thread.ofPlatform().daemon().name("herd-agent-checks").start(this::run);
    }

    @Override
    protected void doStop() throws InterruptedException {
        Selector open;
        Thread running;
        ExecutorService answers;
        synchronized (this) {
            open = selector;
            running = thread;
            answers = answering;
            selector = null;
        }
        if (open == null) return;
        open.wakeup();
        running.join(TimeUnit.SECONDS.toMillis(5));
        answers.shutdownNow(); // an answer still waiting on an event thread has nobody left to tell
        // A close asked for as the thread ended: its port is no longer in ports, and must not stay open.
        for (Consumer<Selector> change; (change = changes.poll()) != null; ) change.accept(open);
        try {
            open.close();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "closing the agent checks' selector failed", e);
        }
        synchronized (this) {
            ports.values().forEach(AgentChecks::closeQuietly);
            ports.clear();
        }
    }

    /** Has the selector thread make {@code change} (under this object's lock); before the start, nothing: the start registers every port. */
    private void onSelectorThread(Consumer<Selector> change) {
        Selector open = selector;
        if (open == null) return;
        changes.add(change);
        open.wakeup();
    }

    /** Selector thread (or the start's, before it runs). */
    private static void register(Selector selector, String app, ServerSocketChannel channel) {
        try {
            channel.register(selector, SelectionKey.OP_ACCEPT, app);
        } catch (IOException | ClosedSelectorException e) {
            LOG.log(Level.WARNING, "app {0}: the agent check cannot serve its port: {1}", app, e.toString());
        }
    }

    private void run() {
        Selector own = selector;
        try {
            while (selector == own) {
                own.select();
                for (Consumer<Selector> change; (change = changes.poll()) != null; ) change.accept(own);
                for (SelectionKey key : own.selectedKeys()) {
                    if (key.isValid() && key.isAcceptable()) answerAll((ServerSocketChannel) key.channel(), (String) key.attachment());
                }
                own.selectedKeys().clear();
            }
        } catch (ClosedSelectorException stopped) {
            // the service stopped
        } catch (IOException e) {
            LOG.log(Level.ERROR, "the agent checks stopped: " + e.getMessage(), e);
        }
    }

    /** Answers the connections waiting on one app's port, up to {@value #ACCEPTS_PER_TURN}. */
    private void answerAll(ServerSocketChannel port, String app) {
        for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
            SocketChannel client;
            try {
                client = port.accept();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "app {0}: the agent check cannot accept: {1}", app, e.getMessage());
                pause();
                return;
            }
            if (client == null) return;
            answerElsewhere(client, app);
        }
    }

    /** Has a virtual thread answer {@code client}, or closes it unanswered when {@code app} has too many answers under way. */
    private void answerElsewhere(SocketChannel client, String app) {
        Semaphore permits = inFlight.computeIfAbsent(app, name -> new Semaphore(MOST_IN_FLIGHT_PER_APP));
        if (!permits.tryAcquire()) {
            LOG.log(Level.DEBUG, "app {0}: {1} agent checks under way already: one closed unanswered", app, MOST_IN_FLIGHT_PER_APP);
            closeQuietly(client);
            return;
        }
        try {
            answering.execute(() -> {
                try {
                    answer(client, app);
                } finally {
                    permits.release();
                }
            });
        } catch (RejectedExecutionException stopping) {
            permits.release();
            closeQuietly(client);
        }
    }

    private void answer(SocketChannel client, String app) {
        try (client) {
            client.configureBlocking(false);
            client.write(StandardCharsets.US_ASCII.encode(lineFor(app)));
            client.shutdownOutput();
            ByteBuffer dropped = ByteBuffer.allocate(512);
            for (int total = 0; total < MOST_DROPPED; total += dropped.position()) {
                dropped.clear();
                if (client.read(dropped) <= 0) break;
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "app {0}: an agent check's connection failed: {1}", app, e.getMessage());
        }
    }

    /** The line for {@code app}; {@code down} for an app deleted as its connection came. */
    private String lineFor(String app) {
        Availability now = view.of(app);
        return (now == null ? Availability.NONE_ONLINE : now).agentLine();
    }

    private static void pause() {
        try {
            Thread.sleep(ACCEPT_FAILURE_PAUSE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Channel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing an agent check's socket failed: {0}", e.getMessage());
        }
    }
}
