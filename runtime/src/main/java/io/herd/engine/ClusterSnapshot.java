package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.HerdConfig;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * What operators see of a cluster ({@link ClusterInfo}), whichever thread asks — JMX, Jolokia,
 * the CLI — always taken on the cluster's event thread: only it reads the workers' state safely,
 * and all of it at one moment.
 *
 * <p>Asked while the event thread runs, a snapshot is taken then, and the asking thread waits for
 * it, at most {@value #TIMEOUT_MILLIS} ms, rather than read one the event thread published
 * earlier: the counters move on other threads (accepts, relays), and an answer should be as fresh
 * as the question; nobody pays for snapshots nobody asks for. Once the cluster has stopped, the
 * answer is the snapshot its event thread took last, as it stopped.
 */
final class ClusterSnapshot {
    /** How long an asking thread waits before it gives up on the event thread. */
    private static final long TIMEOUT_MILLIS = 5_000;

    private final Cluster cluster;
    private final EventThread events;
    /** The event thread's last snapshot, taken as it stopped: what a stopped cluster answers with. */
    private final CompletableFuture<ClusterInfo> last = new CompletableFuture<>();

    ClusterSnapshot(Cluster cluster, EventThread events) {
        this.cluster = cluster;
        this.events = events;
    }

    /**
     * A snapshot of the app and each of its workers (any thread).
     *
     * @throws IllegalStateException when the event thread did not answer in time
     */
    ClusterInfo info() {
        try {
            return events.call(this::take, TIMEOUT_MILLIS);
        } catch (EventThread.Stopped stopped) {
            return last();
        }
    }

    /** The event thread's last task, posted as the cluster stops: the snapshot a stopped cluster answers with. */
    void takeLast() {
        try {
            last.complete(take());
        } catch (RuntimeException e) {
            last.completeExceptionally(e);
            throw e;
        }
    }

    /** Posted before the event thread stopped, it comes at once, or soon. */
    private ClusterInfo last() {
        try {
            return last.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(cluster.name() + ": no snapshot of the stopped cluster", e.getCause());
        } catch (TimeoutException | InterruptedException e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new IllegalStateException(cluster.name() + ": no answer from the cluster's event thread", e);
        }
    }

    /** Event thread. */
    private ClusterInfo take() {
        Instances instances = cluster.instances();
        return of(cluster.config(), instances.slots(), instances.spareSlots(), cluster.liveWorkers(), cluster.dispatcher(),
                cluster.operations().tally().stats());
    }

    /** The live workers, then the last worker of each instance (or spare) that has none live, by instance. */
    private static ClusterInfo of(AppConfig config, Map<Integer, Instances.Slot> slots, Map<Integer, Instances.Slot> spareSlots,
                                  Collection<Worker> live, Dispatcher dispatcher, List<OperationStats> operations) {
        List<WorkerInfo> workers = new ArrayList<>();
        int spares = 0;
        for (Worker worker : live) {
            Instances.Slot slot = slots.containsKey(worker.instance) ? slots.get(worker.instance) : spareSlots.get(worker.instance);
            if (worker.state == WorkerState.SPARE) spares++;
            workers.add(new WorkerInfo(worker.instance, worker.pid(), worker.state.label(), worker.uptimeMillis(),
                    slot == null ? 0 : slot.restarts, worker.handedOff(), worker.openConnections(), worker.bytesIn(), worker.bytesOut(), worker.exitCode,
                    worker.cpuPercent, worker.rssBytes, worker.cpuSeconds(), worker.startMillis()));
        }
        for (Instances.Slot slot : Stream.concat(slots.values().stream(), spareSlots.values().stream()).toList()) {
            Worker last = slot.worker;
            if (last != null && !live.contains(last)) {
                workers.add(new WorkerInfo(slot.instance, last.pid(), last.state.label(), 0, slot.restarts,
                        last.handedOff(), 0, last.bytesIn(), last.bytesOut(), last.exitCode, 0, 0, last.cpuSeconds(), last.startMillis()));
            }
        }
        workers.sort(Comparator.comparingInt(WorkerInfo::instance));
        long open = 0, rss = 0;
        double cpu = 0;
        for (Worker worker : live) {
            open += worker.openConnections();
            rss += worker.rssBytes;
            cpu += worker.cpuPercent;
        }
        return new ClusterInfo(config.name(), HerdConfig.keyOf(config.dispatch()), slots.size(), dispatcher.online(), spares, dispatcher.accepted(),
                dispatcher.waiting(), dispatcher.dropped(), dispatcher.refused(), open, cpu, rss, workers, operations);
    }
}
