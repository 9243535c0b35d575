package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.Balance;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Balances one app's connections over its workers in rotation.
 *
 * <p>The master's accept thread (and IPC readers giving back a connection a worker could not
 * take) call it lock-free, over a copy-on-write array of the workers in rotation, which only the
 * cluster's event thread replaces ({@link #setRotation}). While no worker can take a connection,
 * it waits in a bounded queue (queue.size, queue.timeout) instead of being refused; past either
 * it is closed and counted. In proxy dispatch, where the master holds every connection and its
 * relay buffers, a connection past proxy.max.connections open is refused at once, and counted.
 */
final class Dispatcher {
    private static final System.Logger LOG = System.getLogger(Dispatcher.class.getName());
    private static final Worker[] NONE = new Worker[0];
    private static final long DROP_LOG_INTERVAL_NANOS = 5_000_000_000L;

    private final AppConfig config;
    private final AtomicInteger turn = new AtomicInteger();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder refused = new LongAdder();
    /** Proxy dispatch: connections taken on and not yet closed, waiting or relayed; at most proxy.max.connections. */
    private final AtomicInteger open = new AtomicInteger();
    /** Connections waiting for a ready worker, oldest first. Guarded by itself. */
    private final ArrayDeque<Connection> waiting = new ArrayDeque<>();
    private volatile int waitingCount;
    private volatile long lastDropLog = System.nanoTime() - DROP_LOG_INTERVAL_NANOS;
    private volatile Worker[] rotation = NONE;
    private volatile boolean closed;

    Dispatcher(AppConfig config) {
        this.config = config;
    }

    /** Gives a newly accepted connection to a ready worker, or lets it wait for one. */
    void dispatch(Connection connection) {
        accepted.increment();
        if (config.proxied() && !admit(connection)) {
            closeUnserved(connection, refused, "refused a connection",
                    config.proxy().maxConnections() + " are open already (proxy.max.connections)");
            return;
        }
        if (!handOff(connection, null)) await(connection, null);
    }

    /**
     * Proxy dispatch: counts the connection among the app's open ones, unless
     * proxy.max.connections are open already. Each holds up to two relay buffers: the limit
     * bounds the master's direct memory whatever clients do.
     */
    private boolean admit(Connection connection) {
        int max = config.proxy().maxConnections();
        if (open.getAndUpdate(count -> count < max ? count + 1 : count) >= max) return false;
        connection.countedIn(open);
        return true;
    }

    /** Gives a connection a worker could not take to another worker. */
    void redispatch(Connection connection, Worker from) {
        if (!handOff(connection, from)) await(connection, from);
    }

    /** Shared dispatch: connections a worker accepted itself, counted as the master's own accepts are. */
    void countAccepted(int count) {
        accepted.add(count);
    }

    /** A worker acknowledged a handoff: room for connections that were waiting. */
    void capacityFreed() {
        if (waitingCount > 0) drainWaiting();
    }

    private boolean handOff(Connection connection, Worker except) {
        Worker[] workers = rotation;
        int count = workers.length;
        if (count == 0) return false;
        int first = Math.floorMod(turn.getAndIncrement(), count);
        if (config.balance() == Balance.LEAST_CONNECTIONS) first = leastLoaded(workers, first);
        for (int i = 0; i < count; i++) {
            Worker worker = workers[(first + i) % count];
            if (worker != except && worker.handOff(connection)) return true;
        }
        return false;
    }

    /** The least loaded worker; ties go to the first from {@code start}, so they are taken in turn. */
    private static int leastLoaded(Worker[] workers, int start) {
        int best = start;
        long bestLoad = Long.MAX_VALUE;
        for (int i = 0; i < workers.length; i++) {
            int index = (start + i) % workers.length;
            long load = workers[index].openConnections() + workers[index].unacknowledged();
            if (load < bestLoad) {
                best = index;
                bestLoad = load;
            }
        }
        return best;
    }

    private void await(Connection connection, Worker except) {
        synchronized (waiting) {
            if (handOff(connection, except)) return; // the rotation changed meanwhile
            if (closed || waiting.size() >= config.queueSize()) {
                drop(connection, closed ? "the app is stopping" : "the wait queue is full");
                return;
            }
            connection.waitingSinceNanos = System.nanoTime(); // a connection given back starts its wait anew
            waiting.addLast(connection);
            waitingCount = waiting.size();
        }
    }

    private void drainWaiting() {
        synchronized (waiting) {
            while (!waiting.isEmpty() && handOff(waiting.peekFirst(), null)) waiting.pollFirst();
            waitingCount = waiting.size();
        }
    }

    void expireWaiting() {
        if (waitingCount == 0) return;
        long oldest = System.nanoTime() - config.queueTimeout().toNanos();
        synchronized (waiting) {
            while (!waiting.isEmpty() && waiting.peekFirst().waitingSinceNanos - oldest < 0) {
                drop(waiting.pollFirst(), "no worker was ready within " + config.queueTimeout().toMillis() + " ms");
            }
            waitingCount = waiting.size();
        }
    }

    /** Closes a connection no worker could take, and counts it as dropped. */
    void giveUp(Connection connection, String why) {
        drop(connection, why);
    }

    private void drop(Connection connection, String why) {
        closeUnserved(connection, dropped, "closed a connection unserved", why);
    }

    private void closeUnserved(Connection connection, LongAdder counter, String what, String why) {
        counter.increment();
        connection.closeMasterCopy();
        long now = System.nanoTime();
        if (now - lastDropLog > DROP_LOG_INTERVAL_NANOS) { // a flood of drops must not become a flood of log lines
            lastDropLog = now;
            LOG.log(Level.WARNING, "{0}: {1} ({2} so far): {3}", config.name(), what, Long.toString(counter.sum()), why);
        }
    }

    /** The workers that get new connections from now on (event thread); waiting connections go to them. */
    void setRotation(Worker[] workers) {
        rotation = workers;
        drainWaiting();
    }

    /** The app is stopping: no rotation, and the waiting connections are closed. */
    void close() {
        closed = true;
        rotation = NONE;
        synchronized (waiting) {
            while (!waiting.isEmpty()) drop(waiting.pollFirst(), "the app is stopping");
            waitingCount = 0;
        }
    }

    int online() {
        return rotation.length;
    }

    long accepted() {
        return accepted.sum();
    }

    long waiting() {
        return waitingCount;
    }

    long dropped() {
        return dropped.sum();
    }

    long refused() {
        return refused.sum();
    }
}
