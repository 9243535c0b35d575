package io.herd.engine;

import io.herd.config.AppConfig;

import java.lang.System.Logger.Level;
import java.util.Collection;
import java.util.List;

/**
 * How a worker leaves, on its cluster's event thread: out of rotation first, then (in proxy
 * dispatch) its relayed connections may finish, then it is asked to stop, and killed if it has
 * not stopped within kill.timeout.
 */
final class Retirement {
    /** Logs as the cluster it was split from, so operators' logging configuration still finds these lines. */
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());
    private static final long DRAIN_POLL_MILLIS = 50;

    private final Cluster cluster;
    private final AppConfig config;

    Retirement(Cluster cluster) {
        this.cluster = cluster;
        this.config = cluster.config();
    }

    /**
     * Takes a worker out of rotation, then stops it: with the SDK's shutdown message
     * ({@code graceful}) or SIGTERM; SIGKILL after the app's kill timeout either way.
     */
    void retire(Worker worker, boolean graceful) {
        retire(worker, graceful, null);
    }

    /** {@link #retire(Worker, boolean)}, with why it goes said first in its move to stopping; {@code why} may be null. */
    void retire(Worker worker, boolean graceful, String why) {
        if (!worker.state.running()) return; // stopping or gone already
        String stop = graceful ? "asked to drain" : "SIGTERM";
        String how = config.proxied()
                ? "out of rotation; its connections may finish within " + config.killTimeout().toMillis() + " ms, then " + stop
                : "out of rotation; " + stop;
        cluster.move(worker, WorkerState.STOPPING, why == null ? how : why + ": " + how);
        cluster.updateRotation();
        if (config.proxied()) drainThenStop(worker, graceful, System.nanoTime() + config.killTimeout().toNanos());
        else stopNow(worker, graceful);
    }

    /**
     * The longest {@link #retire} takes before the worker is killed: proxy dispatch drains first,
     * for up to kill.timeout; a worker training the AOT cache has longer to write it.
     */
    long retireMillis(Worker worker) {
        return config.proxied() ? config.killTimeout().toMillis() + killAfterMillis(worker) : killAfterMillis(worker);
    }

    /** How long a worker asked to stop has before SIGKILL: kill.timeout, and more for one writing the AOT cache. */
    private long killAfterMillis(Worker worker) {
        return config.killTimeout().toMillis() + (worker.trainsAotCache ? WorkerAot.DUMP_ALLOWANCE_MILLIS : 0);
    }

    /**
     * Proxy dispatch: a worker out of rotation keeps its relayed connections until they end or
     * the deadline passes, and only then is asked to stop: the master cannot tell a request in
     * flight from an idle connection, the app can. With proxy.http the relay can: it closes each
     * keep-alive connection of a {@link Worker#draining draining} worker after a complete response.
     */
    void drainThenStop(Worker worker, boolean graceful, long deadlineNanos) {
        worker.draining = true;
        if (!worker.process().isAlive()) return;
        if (worker.openConnections() > 0 && System.nanoTime() - deadlineNanos < 0) {
            cluster.later(() -> drainThenStop(worker, graceful, deadlineNanos), DRAIN_POLL_MILLIS);
            return;
        }
        stopNow(worker, graceful);
    }

    /**
     * The SDK's shutdown message ({@code graceful}, SIGTERM without the SDK) or SIGTERM; SIGKILL
     * after kill.timeout, and {@link WorkerAot#DUMP_ALLOWANCE_MILLIS} more for a worker whose JVM
     * writes the AOT cache as it exits: killed midway, it would leave none, and the next would try again.
     */
    void stopNow(Worker worker, boolean graceful) {
        if (graceful) worker.requestShutdown();
        else worker.process().destroy();
        long killAfter = killAfterMillis(worker);
        cluster.later(() -> kill(worker, killAfter), killAfter);
    }

    /**
     * The app's stop timeout has passed: the workers still running are killed; one that writes
     * the AOT cache as it exits gets {@link WorkerAot#DUMP_ALLOWANCE_MILLIS} more first.
     */
    void killRemaining(Collection<Worker> workers, long stopTimeoutMillis) {
        for (Worker worker : List.copyOf(workers)) {
            if (worker.trainsAotCache) {
                cluster.later(() -> kill(worker, stopTimeoutMillis + WorkerAot.DUMP_ALLOWANCE_MILLIS), WorkerAot.DUMP_ALLOWANCE_MILLIS);
            } else {
                kill(worker, stopTimeoutMillis);
            }
        }
    }

    private static void kill(Worker worker, long afterMillis) {
        if (!worker.process().isAlive()) return;
        LOG.log(Level.WARNING, "{0} did not stop within {1} ms: killing it", worker.name(), Long.toString(afterMillis));
        worker.process().destroyForcibly();
    }
}
