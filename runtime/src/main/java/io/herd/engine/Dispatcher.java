package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.Balance;
import io.herd.ipc.IpcMessage;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.List;
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

    /**
     * Gives connections accepted together to ready workers, or lets them wait for one; keeps none
     * of the list. In handoff dispatch they go in chunks of ceil(n / workers), at most
     * {@link IpcMessage#MAX_BATCH}, one message each: round-robin gives each chunk to the next
     * worker in turn, least-connections to the least loaded worker, chosen anew for each chunk.
     * One connection at a time, that is the balance as it always was; a burst is spread the same
     * way in the long run, with one sendmsg per chunk instead of one per connection.
     */
    void dispatch(List<Connection> connections) {
        int count = connections.size();
        accepted.add(count);
        if (config.proxied()) { // the relay takes one connection at a time
            for (Connection connection : connections) admitThenPlace(connection);
            return;
        }
        int chunk = Math.min(IpcMessage.MAX_BATCH, Math.ceilDiv(count, Math.max(1, rotation.length)));
        for (int from = 0; from < count; from += chunk) {
            int to = Math.min(count, from + chunk);
            // Every worker was offered the chunk: what none took waits (await tries once more, under its lock).
            for (int i = handOff(connections, from, to, null); i < to; i++) await(connections.get(i), null);
        }
    }

    /** Proxy dispatch: a connection past proxy.max.connections is refused at once, else placed. */
    private void admitThenPlace(Connection connection) {
        if (admit(connection)) {
            place(connection, null);
        } else {
            closeUnserved(connection, refused, "refused a connection",
                    config.proxy().maxConnections() + " are open already (proxy.max.connections)");
        }
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
        place(connection, from);
    }

    /** Shared dispatch: connections a worker accepted itself, counted as the master's own accepts are. */
    void countAccepted(int count) {
        accepted.add(count);
    }

    /** A worker acknowledged a handoff: room for connections that were waiting. */
    void capacityFreed() {
        if (waitingCount > 0) drainWaiting();
    }

    /** Gives one connection to a ready worker other than {@code except}, or lets it wait for one. */
    private void place(Connection connection, Worker except) {
        if (!handOff(connection, except)) await(connection, except);
    }

    private boolean handOff(Connection connection, Worker except) {
        return handOff(List.of(connection), 0, 1, except) == 1;
    }

    /**
     * Offers {@code connections[from, to)} to the workers in rotation but {@code except}, starting
     * with the one whose turn it is (or the least loaded); each takes what it can of the rest.
     *
     * @return the index of the first connection no worker took; {@code to} when all were
     */
    private int handOff(List<Connection> connections, int from, int to, Worker except) {
        Worker[] workers = rotation;
        int count = workers.length;
        if (count == 0) return from;
        int first = Math.floorMod(turn.getAndIncrement(), count);
        if (config.balance() == Balance.LEAST_CONNECTIONS) first = leastLoaded(workers, first);
        for (int i = 0; i < count && from < to; i++) {
            Worker worker = workers[(first + i) % count];
            if (worker != except) from += worker.handOff(connections, from, to);
        }
        return from;
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
