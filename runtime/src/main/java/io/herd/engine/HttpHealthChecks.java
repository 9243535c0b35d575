package io.herd.engine;

import io.herd.config.AppConfig;

import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An app's HTTP health checks ({@code app.<name>.health.*}): when to check which worker, and what
 * a run of failures leads to. Its state is the event thread's; each check's I/O runs on a virtual
 * thread ({@link HealthProbe}) and its result is posted back.
 *
 * <p>Only online workers are checked: none launching, none in its first interval online (that
 * first wait is jittered over a whole interval, so workers that came up together are not checked
 * together), no spare, none stopping. One check at a time per worker, the next an interval
 * (±10%) after the last began. A check that passes starts the count of failures again.
 *
 * <p>A worker that fails {@code failures} checks in a row is replaced like in a graceful reload
 * ({@link ClusterOperations#replaceOne}): its replacement starts and is ready before it leaves
 * rotation and drains; the reason is logged and is in its move to {@code stopping}. When every
 * worker fails (a database they all need is down, say), replacing them all at once would help
 * nobody: replacements run one at a time per app, never beside another operation, and when a
 * replacement fails too — it never comes online, or it fails its own checks before passing one —
 * the next replacement waits 2 intervals, then 4, 8 and at most 16, until a replacement passes a
 * check.
 *
 * <p>A check the master could not make (its loopback connection, in handoff dispatch) is not
 * counted against the worker; {@value #NOT_MADE_ALARM} in a row are logged as an error, once,
 * and checks made again after that at INFO.
 */
final class HttpHealthChecks implements AutoCloseable {
    /** Logs as the cluster, as {@link HealthChecks} does: operators' logging configuration finds these lines there. */
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());
    private static final int MAX_BACKOFF = 16;
    /**
     * Checks in a row that could not be made ({@link HealthProbe.NotMade}) before it is logged as
     * an error: a local process that keeps the loopback listener's backlog full turns checks off
     * that way, with only a warning each otherwise.
     */
    static final int NOT_MADE_ALARM = 3;

    /** One online worker's checks. */
    private static final class Watch {
        /** Failed checks in a row. */
        int failures;
        /** When its last check began (System.nanoTime). */
        long startedNanos;
    }

    private final Cluster cluster;
    private final AppConfig.Health health;
    private final HealthProbe probe;

    // Event-thread state
    private final Map<Worker, Watch> watched = new HashMap<>();
    /** Instances whose worker was replaced for failing its checks, until their new worker passes one. */
    private final Set<Integer> onProbation = new HashSet<>();
    /** A replacement runs: no other starts. */
    private boolean replacing;
    /** Multiplies the wait before the next replacement after replacements that did not help. */
    private int backoff = 1;
    /** No replacement before this (System.nanoTime). */
    private long nextReplacementNanos = System.nanoTime();
    /** The app's checks in a row, of any of its workers, that could not be made. */
    private int notMadeInARow;

    HttpHealthChecks(Cluster cluster) {
        this.cluster = cluster;
        this.health = cluster.config().health();
        this.probe = new HealthProbe(cluster.config());
    }

    /** A worker changed state (event thread): one that went online is checked from its second interval; one that left is not. */
    void moved(Worker worker, WorkerState to) {
        if (to != WorkerState.ONLINE) {
            watched.remove(worker);
            return;
        }
        watched.put(worker, new Watch());
        long interval = health.interval().toMillis();
        cluster.later(() -> check(worker), interval + ThreadLocalRandom.current().nextLong(interval));
    }

    /** Starts a check of the worker, unless it left rotation or the app is stopping. */
    private void check(Worker worker) {
        Watch watch = watched.get(worker);
        if (watch == null || cluster.isStopping()) return;
        if (!worker.accepting()) return; // out of rotation for good: its channel or port is gone, or it closed its HerdWorker
        watch.startedNanos = System.nanoTime();
        Thread.ofVirtual().name("herd-" + cluster.name() + "-health-" + worker.instance).start(() -> {
            try {
                String failure = probe.check(worker);
                cluster.post(() -> checked(worker, failure));
            } catch (HealthProbe.NotMade | RuntimeException notMade) {
                // the master's fault, not the worker's: it is not counted against it
                if (cluster.isStopping()) return; // its loopback listener is closed: nothing to say
                String why = notMade instanceof HealthProbe.NotMade ? notMade.getMessage() : notMade.toString();
                cluster.post(() -> notMade(worker, why));
            }
        });
    }

    /** A check could not be made (event thread): not the worker's fault, but an operator must hear when it lasts. */
    private void notMade(Worker worker, String why) {
        if (cluster.isStopping()) return;
        LOG.log(Level.WARNING, "{0}: no health check this time: {1}", worker.name(), why);
        if (++notMadeInARow == NOT_MADE_ALARM) {
            LOG.log(Level.ERROR, "{0}: health checks are not being made ({1} in a row could not be, the last: {2}): its workers "
                    + "are not checked until one is; a local process may be keeping the checks'' loopback port busy",
                    cluster.name(), notMadeInARow, why);
        }
        scheduleNext(worker);
    }

    /** A check ended (event thread): {@code failure} is null when it passed. */
    private void checked(Worker worker, String failure) {
        Watch watch = watched.get(worker);
        if (watch == null || cluster.isStopping()) return; // it left rotation meanwhile
        if (notMadeInARow >= NOT_MADE_ALARM) {
            LOG.log(Level.INFO, "{0}: health checks are made again, after {1} that could not be", cluster.name(), notMadeInARow);
        }
        notMadeInARow = 0;
        if (failure == null) {
            if (watch.failures > 0) {
                LOG.log(Level.INFO, "{0}: passes its health check again, after {1} failed", worker.name(), watch.failures);
            }
            watch.failures = 0;
            if (onProbation.remove(worker.instance)) backoff = 1;
        } else {
            watch.failures++;
            LOG.log(Level.WARNING, "{0}: health check failed ({1} of {2} in a row): {3} on GET {4}", worker.name(),
                    watch.failures, health.failures(), failure, health.url().path());
            if (watch.failures >= health.failures()) failedTooOften(worker, watch, failure);
        }
        scheduleNext(worker);
    }

    /** Its next check, an interval (±10%) after its last began. */
    private void scheduleNext(Worker worker) {
        Watch watch = watched.get(worker);
        if (watch == null) return;
        long interval = health.interval().toMillis();
        long spread = Math.max(1, interval / 10);
        long sinceStart = (System.nanoTime() - watch.startedNanos) / 1_000_000;
        long next = interval - spread + ThreadLocalRandom.current().nextLong(2 * spread + 1) - sinceStart;
        cluster.later(() -> check(worker), Math.max(0, next));
    }

    /** The worker failed its checks {@code failures} times in a row (or more): replaced, unless one is being replaced, or backing off. */
    private void failedTooOften(Worker worker, Watch watch, String failure) {
        if (replacing || System.nanoTime() - nextReplacementNanos < 0) return; // a later failure asks again
        if (onProbation.remove(worker.instance)) {
            backOff();
            LOG.log(Level.ERROR, "{0}: replaced for failing its health check, and its replacement fails it too ({1}): the cause may "
                    + "be outside the workers; the next replacement waits {2}", worker.name(), failure,
                    HealthProbe.readable(health.interval().toMillis() * backoff));
            return;
        }
        replacing = true;
        String why = "health check failed " + watch.failures + (watch.failures == 1 ? " time" : " times") + " in a row: " + failure
                + " on GET " + health.url().path();
        Thread.ofVirtual().name("herd-" + cluster.name() + "-health-replacement").start(() -> {
            Boolean replaced = null;
            try {
                replaced = cluster.operations().replaceOne(worker, "healthRestart", "health restart of #" + worker.instance, why);
            } finally {
                Boolean outcome = replaced;
                cluster.post(() -> replacementEnded(worker, outcome));
            }
        });
    }

    /** A replacement ended (event thread): null when none was tried (another operation ran, say). */
    private void replacementEnded(Worker worker, Boolean replaced) {
        replacing = false;
        if (replaced == null) return;
        if (replaced) {
            onProbation.add(worker.instance);
        } else {
            backOff();
            LOG.log(Level.WARNING, "{0}: {1}''s replacement did not come online: the next replacement for failed health checks waits {2}",
                    cluster.name(), worker.name(), HealthProbe.readable(health.interval().toMillis() * backoff));
        }
    }

    private void backOff() {
        backoff = Math.min(MAX_BACKOFF, backoff * 2);
        nextReplacementNanos = System.nanoTime() + health.interval().toNanos() * backoff;
    }

    /** The checks' I/O (for tests). */
    HealthProbe probe() {
        return probe;
    }

    /** Closes the probe's loopback listener: checks still running fail, and their results are dropped. */
    @Override
    public void close() {
        probe.close();
    }
}
