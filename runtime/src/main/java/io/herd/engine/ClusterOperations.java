package io.herd.engine;

import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The live operations on a cluster — scale, reload, graceful reload, restart — one at a time.
 *
 * <p>An operation runs on the caller's thread (a JMX request, say) as a plain sequence of steps.
 * Every step that changes the cluster is done by the cluster's event thread ({@link Cluster#call}),
 * so worker states still change in one place only; in between, the operation waits for workers
 * to come online or to exit, each wait bounded by the app's ready or kill timeout. It reads no
 * worker's event-thread state itself (its state, its memory): it asks the event thread, or is
 * handed what the event thread read.
 *
 * <p>The rules PM2's users asked for: a worker always leaves rotation before it is asked to stop;
 * a replacement is online before the worker it replaces leaves; a replacement that fails stops the
 * reload and the old workers keep serving; a second operation while one runs is refused.
 */
final class ClusterOperations {
    private static final System.Logger LOG = System.getLogger(ClusterOperations.class.getName());
    /** Slack on top of the app's own timeouts, for the JVM to start or be reaped. */
    static final long MARGIN_MILLIS = 10_000;

    private final Cluster cluster;
    private final AtomicReference<String> running = new AtomicReference<>();
    private final OperationTally tally = new OperationTally();

    ClusterOperations(Cluster cluster) {
        this.cluster = cluster;
    }

    /** The operation in progress, or null. */
    String running() {
        return running.get();
    }

    /** The operations that ended, counted by kind and outcome. */
    OperationTally tally() {
        return tally;
    }

    OperationResult scale(int target) {
        int max = cluster.config().maxInstances();
        if (target < 0 || target > max) {
            throw new IllegalArgumentException("scale " + target + ": an instance count goes from 0 to " + max
                    + " (app." + cluster.name() + ".max.instances)");
        }
        return exclusively("scale", "scale " + target, () -> scaleTo(target));
    }

    OperationResult scaleBy(int delta) {
        return exclusively("scale", "scaleBy " + (delta >= 0 ? "+" : "") + delta, () -> {
            int current = cluster.call(() -> cluster.instances().count());
            long target = (long) current + delta;
            int max = cluster.config().maxInstances();
            if (target < 0 || target > max) {
                throw new IllegalArgumentException("scaleBy " + delta + ": " + current + " " + (delta >= 0 ? "+ " : "- ")
                        + Math.abs((long) delta) + " is outside 0 to " + max + " (app." + cluster.name() + ".max.instances)");
            }
            return scaleTo((int) target);
        });
    }

    private OperationResult scaleTo(int target) {
        String name = running.get();
        int current = cluster.call(() -> cluster.instances().count());
        List<OperationResult.Step> steps = new ArrayList<>();
        if (target > current) {
            // Spares first: a ready one is online at once. New spares replace the ones taken.
            List<Worker> spares = new ArrayList<>();
            List<Worker> started = cluster.call(() -> {
                List<Worker> workers = new ArrayList<>();
                for (int i = current; i < target; i++) {
                    Instances.Slot spare = cluster.instances().takeSpare("taken by " + name);
                    if (spare != null) spares.add(spare.worker);
                    workers.add(spare != null ? spare.worker : cluster.instances().add().worker);
                }
                cluster.instances().fillSpares();
                return workers;
            });
            boolean allOnline = true;
            for (Worker worker : started) {
                String failure = worker == null ? "no JVM could be started" : awaitOnline(worker);
                allOnline &= failure == null;
                steps.add(new OperationResult.Step(worker == null ? -1 : worker.instance, 0, worker == null ? 0 : worker.pid(),
                        failure != null ? "failed: " + failure : spares.contains(worker) ? "a spare took it" : "started"));
            }
            return result(name, allOnline, allOnline ? "scaled from " + current + " to " + target
                    : "scaled to " + target + " instances, but not every new worker came online (they are restarted as usual)", steps);
        }
        if (target < current) {
            List<Worker> stopping = cluster.call(() -> {
                List<Worker> workers = new ArrayList<>();
                List<Integer> instances = new ArrayList<>(cluster.instances().current().keySet());
                for (int i = instances.size() - 1; i >= target; i--) {
                    Worker worker = cluster.instances().remove(instances.get(i));
                    if (worker != null) workers.add(worker);
                }
                return workers;
            });
            for (Worker worker : stopping) {
                steps.add(new OperationResult.Step(worker.instance, worker.pid(), 0, awaitExit(worker)));
            }
            return result(name, true, "scaled from " + current + " to " + target, steps);
        }
        return result(name, true, "already " + current + " instances", steps);
    }

    /**
     * A rolling reload (see {@link RollingReplacement}): up to reload.surge replacements start at
     * once, and each old worker leaves as its replacement comes online.
     */
    OperationResult reload(boolean graceful) {
        String kind = graceful ? "gracefulReload" : "reload";
        return exclusively(kind, kind, () -> {
            String name = running.get();
            List<Worker> old = cluster.call(() -> cluster.instances().online());
            int instances = cluster.call(() -> cluster.instances().count());
            RollingReplacement rollout = new RollingReplacement(cluster, graceful, RollingReplacement.Kind.WORKERS);
            if (!rollout.run(old, cluster.config().reloadSurge().workers(instances))) {
                return result(name, false, rollout.failure(), rollout.steps());
            }
            List<OperationResult.Step> steps = new ArrayList<>(rollout.steps());
            boolean sparesReplaced = replaceSpares(graceful, steps);
            return result(name, sparesReplaced, (old.isEmpty() ? "no worker was online: nothing to reload"
                    : "replaced " + old.size() + " worker" + (old.size() == 1 ? "" : "s"))
                    + (sparesReplaced ? "" : ", but a spare's replacement was not ready; the old spare stays"), steps);
        });
    }

    /**
     * Replaces a worker whose memory passed max.memory, as in a graceful reload ({@link #replaceOne}).
     *
     * @param rssBytes its memory, as the event thread sampled it (this thread may not read the worker's)
     * @param ended    told on the event thread whether the worker was replaced, once a replacement was tried
     */
    void replaceOverMemory(Worker worker, long rssBytes, Consumer<Boolean> ended) {
        Boolean replaced = replaceOne(worker, "memoryRestart", "memory restart of #" + worker.instance, "uses " + (rssBytes >> 20)
                + " MiB, over max.memory (" + (cluster.config().maxMemoryBytes() >> 20) + " MiB)");
        if (replaced != null) cluster.post(() -> ended.accept(replaced));
    }

    /**
     * Replaces one online worker that is unwell (over max.memory, failing its health checks), as
     * in a graceful reload: its replacement is ready before it leaves rotation and drains. Skipped
     * (until the next check) while another operation runs, rather than refused: nobody asked for it.
     *
     * @param kind      what kind of operation it is counted as in the {@link #tally}: memoryRestart, healthRestart
     * @param operation what the operation's events and log call it ("memory restart of #1")
     * @param why       why it is replaced, in a few words: logged, and the reason of its move to stopping
     * @return true when it was replaced, false when it failed (its replacement did not come online,
     *         and it keeps serving; or the event thread did not answer, or the app stopped
     *         meanwhile), null when none was tried: the app is stopping, another operation runs,
     *         or the worker is no longer online
     */
    Boolean replaceOne(Worker worker, String kind, String operation, String why) {
        if (cluster.isStopping() || !running.compareAndSet(null, operation)) return null;
        long start = System.nanoTime();
        try {
            try {
                if (!cluster.call(() -> cluster.instances().online().contains(worker))) return null;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "{0}: {1} not tried: {2}", cluster.name(), operation, e.getMessage());
                return null;
            }
            LOG.log(Level.WARNING, "{0}: {1} {2}: replacing it", cluster.name(), worker.name(), why);
            started(operation);
            RollingReplacement replacement = new RollingReplacement(cluster, true, RollingReplacement.Kind.WORKERS, why);
            boolean replaced = replacement.run(List.of(worker), 1);
            OperationResult result = result(operation, replaced, replaced ? "replaced" : replacement.failure(), replacement.steps()).took(millisSince(start));
            ended(kind, result);
            return replaced;
        } catch (RuntimeException e) {
            // as exclusively() does: counted, and its end published, or status would show it running for ever
            tally.record(kind, false, millisSince(start));
            endedIn(operation, e);
            LOG.log(Level.WARNING, "{0}: {1} failed: {2}", cluster.name(), operation, e.getMessage());
            return false;
        } finally {
            running.set(null);
        }
    }

    /**
     * After a reload's serving workers, its spares are replaced too, or the next crash would bring
     * the old code back into rotation. All at once: they serve nothing, so no capacity is at stake,
     * and each replacement is ready before its old spare stops, so a crash meanwhile still finds a
     * spare ready. A replacement that is not ready is stopped, and its old spare stays, as a
     * reload's serving workers do.
     *
     * @return true when every spare was replaced
     */
    private boolean replaceSpares(boolean graceful, List<OperationResult.Step> steps) {
        List<Worker> old = cluster.call(() -> cluster.instances().currentSpares().values().stream().filter(w -> w != null).toList());
        RollingReplacement rollout = new RollingReplacement(cluster, graceful, RollingReplacement.Kind.SPARES);
        boolean all = rollout.run(old, Math.max(1, old.size()));
        steps.addAll(rollout.steps());
        return all;
    }

    OperationResult restart() {
        return exclusively("restart", "restart", () -> {
            String name = running.get();
            Map<Integer, Worker> spares = new java.util.TreeMap<>();
            Map<Integer, Worker> before = cluster.call(() -> {
                Map<Integer, Worker> workers = cluster.instances().current();
                spares.putAll(cluster.instances().currentSpares());
                for (Worker worker : workers.values()) if (worker != null) cluster.retirement().retire(worker, false);
                for (Worker worker : spares.values()) if (worker != null) cluster.retirement().retire(worker, false);
                return workers;
            });
            for (Worker worker : before.values()) if (worker != null) awaitExit(worker);
            for (Worker worker : spares.values()) if (worker != null) awaitExit(worker);
            Map<Integer, Worker> after = cluster.call(() -> {
                Map<Integer, Worker> workers = new java.util.TreeMap<>();
                for (int instance : before.keySet()) workers.put(instance, cluster.instances().relaunch(instance));
                for (int spare : spares.keySet()) cluster.instances().relaunch(spare); // spares too: an errored one is revived
                return workers;
            });
            List<OperationResult.Step> steps = new ArrayList<>();
            boolean allOnline = true;
            for (var entry : after.entrySet()) {
                Worker old = before.get(entry.getKey());
                Worker fresh = entry.getValue();
                String failure = fresh == null ? "no JVM could be started" : awaitOnline(fresh);
                allOnline &= failure == null;
                steps.add(new OperationResult.Step(entry.getKey(), old == null ? 0 : old.pid(), fresh == null ? 0 : fresh.pid(),
                        failure == null ? "restarted" : "failed: " + failure));
            }
            return result(name, allOnline, allOnline ? "restarted " + after.size() + " workers" : "restarted, but not every worker came online", steps);
        });
    }

    /**
     * Runs {@code operation} unless another runs, and counts it in the {@link #tally} as
     * {@code kind} once it ended, whichever way.
     */
    private OperationResult exclusively(String kind, String name, Supplier<OperationResult> operation) {
        if (cluster.isStopping()) throw new IllegalStateException(name + ": app " + cluster.name() + " is stopping");
        if (!running.compareAndSet(null, name)) {
            throw new ClusterBusyException("busy: " + running.get() + " is in progress on app " + cluster.name()
                    + "; try again when it has finished");
        }
        try {
            long start = System.nanoTime();
            started(name);
            OperationResult result;
            try {
                result = operation.get().took(millisSince(start));
            } catch (RuntimeException e) {
                // an argument refused (scaleBy past max.instances) ran nothing; anything else is an operation that failed
                if (!(e instanceof IllegalArgumentException)) tally.record(kind, false, millisSince(start));
                endedIn(name, e);
                throw e;
            }
            ended(kind, result);
            return result;
        } finally {
            running.set(null);
        }
    }

    private void started(String name) {
        LOG.log(Level.INFO, "{0}: {1} started", cluster.name(), name);
        cluster.publish(new OperationEvent(cluster.name(), name, OperationEvent.Phase.STARTED, null, null, Instant.now()));
    }

    /** An operation of {@code kind} ended with {@code result}: counted, logged, and its FINISHED or FAILED event published. */
    private void ended(String kind, OperationResult result) {
        tally.record(kind, result.succeeded(), result.durationMillis());
        LOG.log(result.succeeded() ? Level.INFO : Level.WARNING, "{0}: {1}", cluster.name(), result);
        cluster.publish(new OperationEvent(cluster.name(), result.operation(),
                result.succeeded() ? OperationEvent.Phase.FINISHED : OperationEvent.Phase.FAILED, result, null, Instant.now()));
    }

    /** An operation ended in an exception rather than a result: its FAILED event, with the exception's message. */
    private void endedIn(String name, RuntimeException e) {
        cluster.publish(new OperationEvent(cluster.name(), name, OperationEvent.Phase.FAILED, null, e.getMessage(), Instant.now()));
    }

    private OperationResult result(String name, boolean succeeded, String message, List<OperationResult.Step> steps) {
        return new OperationResult(name, succeeded, message, steps, 0);
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** Null once online; otherwise why not. */
    private String awaitOnline(Worker worker) {
        return await(worker.online, cluster.config().readyTimeout().toMillis(), "came online");
    }

    /** "stopped", or what went wrong. */
    private String awaitExit(Worker worker) {
        String failure = await(worker.exit, cluster.retirement().retireMillis(worker), "exited");
        return failure == null ? "stopped" : failure;
    }

    /** Null once {@code future} completed normally (within {@code timeoutMillis} and a margin); otherwise why not. */
    static String await(CompletableFuture<?> future, long timeoutMillis, String what) {
        try {
            future.get(timeoutMillis + MARGIN_MILLIS, TimeUnit.MILLISECONDS);
            return null;
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause().getMessage();
        } catch (java.util.concurrent.TimeoutException e) {
            return "never " + what;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while waiting";
        }
    }
}
