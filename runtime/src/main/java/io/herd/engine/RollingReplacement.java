package io.herd.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Replaces some of a cluster's workers (a reload, a memory restart), on the operation's thread,
 * each step that changes the cluster done by its event thread.
 *
 * <p>A rolling window, not batches: up to {@code surge} replacements start at once; as soon as
 * one is online, the worker it replaces leaves rotation and stops, and the next replacement
 * starts. An old worker leaves only once its replacement serves, so the workers in rotation never
 * drop below what they were.
 *
 * <p>A replacement that fails (it exits, or is not ready within ready.timeout) stops the rollout:
 * no new replacement starts, the failed one is killed and its old worker keeps serving.
 * Replacements already starting finish — swapped in if they come online — and those swapped in
 * stay. Each old worker's outcome is kept, in the order the workers were given.
 */
final class RollingReplacement {
    /** What is replaced, an app's serving workers or its spares: it names them in each outcome. */
    enum Kind {
        WORKERS("replaced", "the replacement", "the old worker", "keeps serving"),
        SPARES("spare replaced", "the spare's replacement", "the old spare", "stays");

        private final String replaced;
        private final String replacement;
        private final String old;
        private final String oldRemains;

        Kind(String replaced, String replacement, String old, String oldRemains) {
            this.replaced = replaced;
            this.replacement = replacement;
            this.old = old;
            this.oldRemains = oldRemains;
        }
    }

    private final Cluster cluster;
    private final boolean graceful;
    private final Kind kind;
    /** What happened to each old worker, in the order given: "not attempted" until it is tried. */
    private final Map<Worker, OperationResult.Step> outcomes = new LinkedHashMap<>();
    /** The replacements starting now, and the old worker each replaces. */
    private final Map<Worker, Worker> starting = new HashMap<>();
    /** When each starting replacement has waited long enough (System.nanoTime). */
    private final Map<Worker, Long> deadlines = new HashMap<>();
    /** The old workers swapped out, stopping. */
    private final List<Worker> swappedOut = new ArrayList<>();
    /** Why the old workers are replaced, for their move to stopping; null for a reload, which says so itself. */
    private final String why;
    private String failure;
    private int replaced;

    /** @param graceful the old workers are asked over IPC to drain and exit (SIGTERM otherwise) */
    RollingReplacement(Cluster cluster, boolean graceful, Kind kind) {
        this(cluster, graceful, kind, null);
    }

    /**
     * @param graceful the old workers are asked over IPC to drain and exit (SIGTERM otherwise)
     * @param why      why they are replaced ("health check failed 3 times in a row: ..."), said
     *                 in each one's move to stopping; null to say nothing more
     */
    RollingReplacement(Cluster cluster, boolean graceful, Kind kind, String why) {
        this.cluster = cluster;
        this.graceful = graceful;
        this.kind = kind;
        this.why = why;
    }

    /**
     * Replaces {@code old}, {@code surge} at a time, and waits for the replaced workers to exit
     * (except one writing the AOT cache as it exits: see {@link WorkerAot}).
     *
     * @return true when every one of them was replaced
     */
    boolean run(List<Worker> old, int surge) {
        for (Worker worker : old) outcomes.put(worker, step(worker, 0, "not attempted"));
        Deque<Worker> waiting = new ArrayDeque<>(old);
        while ((failure == null && !waiting.isEmpty()) || !starting.isEmpty()) {
            while (failure == null && !waiting.isEmpty() && starting.size() < surge) start(waiting.poll());
            if (!starting.isEmpty()) settle(nextSettled());
        }
        for (Worker worker : swappedOut) {
            if (worker.trainsAotCache) {
                // Out of rotation already; its JVM writes the app's AOT cache as it exits, which can take
                // seconds: waiting for that would make every deploy's reload seconds longer. Retirement
                // still kills it if it outlasts its allowance. Its outcome stays "replaced".
                continue;
            }
            String stopped = ClusterOperations.await(worker.exit, cluster.retirement().retireMillis(worker), "exited");
            if (stopped != null) outcomes.put(worker, step(worker, outcomes.get(worker).newPid(), kind.replaced + "; " + kind.old + " " + stopped));
        }
        return failure == null;
    }

    /** Each old worker's outcome, in the order given to {@link #run}. */
    List<OperationResult.Step> steps() {
        return List.copyOf(outcomes.values());
    }

    /** What stopped the rollout, for operators; null when nothing did. */
    String failure() {
        return failure == null ? null : "stopped at " + failure + "; " + replaced + " of " + outcomes.size()
                + " replaced, the others' old workers keep serving";
    }

    private void start(Worker old) {
        Worker fresh = cluster.call(() -> cluster.instances().launchReplacement(old.instance));
        if (fresh == null) {
            failed(old, 0, "could not be started (no JVM, or the app is stopping)");
            return;
        }
        starting.put(fresh, old);
        long waitMillis = cluster.config().readyTimeout().toMillis() + ClusterOperations.MARGIN_MILLIS;
        deadlines.put(fresh, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis));
    }

    /**
     * The next replacement to settle: one whose start ended (online or not), or, if none ends
     * before, the one waited on longest. Waits on the futures themselves, which a caller on a
     * ForkJoinPool thread blocks on without starving the pool (the JDK tells of process exits there).
     */
    private Worker nextSettled() {
        Worker soonest = null;
        for (var entry : deadlines.entrySet()) {
            if (soonest == null || entry.getValue() - deadlines.get(soonest) < 0) soonest = entry.getKey();
        }
        CompletableFuture<?> any = CompletableFuture.anyOf(starting.keySet().stream().map(worker -> worker.online).toArray(CompletableFuture[]::new));
        try {
            any.get(Math.max(0, deadlines.get(soonest) - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException settledOrNot) {
            // which one, if any, is found below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // each replacement still starting is then settled as not online, and killed
        }
        for (Worker fresh : starting.keySet()) if (fresh.online.isDone()) return fresh;
        return soonest;
    }

    /** A replacement online takes its old worker's place; one that is not is killed, and stops the rollout. */
    private void settle(Worker fresh) {
        Worker old = starting.remove(fresh);
        deadlines.remove(fresh);
        String notOnline = fresh.online.isDone() ? ClusterOperations.await(fresh.online, 0, "came online") : "never came online";
        if (notOnline == null) {
            cluster.call(() -> {
                cluster.instances().swapIn(fresh, old);
                cluster.retirement().retire(old, graceful, why);
                return null;
            });
            swappedOut.add(old);
            replaced++;
            outcomes.put(old, step(old, fresh.pid(), kind.replaced));
        } else {
            cluster.call(() -> {
                cluster.retirement().retire(fresh, false);
                return null;
            });
            failed(old, fresh.pid(), notOnline);
        }
    }

    private void failed(Worker old, long freshPid, String why) {
        if (failure == null) failure = "instance " + old.instance + ": its replacement " + why;
        outcomes.put(old, step(old, freshPid, "failed: " + kind.replacement + " " + why + "; " + kind.old + " " + kind.oldRemains));
    }

    /** @param freshPid the replacement's pid, 0 for none */
    private static OperationResult.Step step(Worker old, long freshPid, String outcome) {
        return new OperationResult.Step(old.instance, old.pid(), freshPid, outcome);
    }
}
