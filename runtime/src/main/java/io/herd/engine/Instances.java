package io.herd.engine;

import java.lang.System.Logger.Level;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An app's instances, on its cluster's event thread: for each instance index, the worker holding
 * it now and its restart history; and the restarts after unexpected exits, with the back-off of
 * the {@link RestartPolicy}. An instance never has two workers: whatever takes a slot retires the
 * worker it held.
 */
final class Instances {
    /** Logs as the cluster it was split from, so operators' logging configuration still finds these lines. */
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());

    private final Cluster cluster;
    private final RestartPolicy restartPolicy;
    private final Map<Integer, Slot> slots = new TreeMap<>();

    /** An instance index and its history: the worker holding it now, its restarts. */
    static final class Slot {
        final int instance;
        Worker worker;
        int restarts;
        int unstableRestarts;
        long nextDelayMillis;
        ScheduledFuture<?> restart;

        Slot(int instance) {
            this.instance = instance;
        }
    }

    Instances(Cluster cluster) {
        this.cluster = cluster;
        this.restartPolicy = new RestartPolicy(cluster.config().restart());
    }

    /** Every slot, by instance (read-only). */
    Map<Integer, Slot> slots() {
        return Collections.unmodifiableMap(slots);
    }

    int count() {
        return slots.size();
    }

    /** A new instance with the lowest free index, and its first worker. */
    Slot add() {
        int instance = 0;
        while (slots.containsKey(instance)) instance++;
        Slot slot = new Slot(instance);
        slots.put(instance, slot);
        launch(slot, true);
        return slot;
    }

    /** Removes an instance: its worker leaves rotation and is stopped gracefully. */
    Worker remove(int instance) {
        Slot slot = slots.remove(instance);
        if (slot == null) return null;
        if (slot.restart != null) slot.restart.cancel(false);
        slot.restart = null;
        Worker worker = slot.worker;
        if (worker != null && cluster.isLive(worker)) {
            cluster.retirement().retire(worker, true);
            return worker;
        }
        return null;
    }

    /** A replacement for the instance's worker; it takes the slot in {@link #swapIn} once online. */
    Worker launchReplacement(int instance) {
        Slot slot = slots.get(instance);
        return slot == null ? null : launch(slot, false);
    }

    /**
     * The online replacement takes its instance's slot, in place of {@code old}, which the caller
     * retires next. Had the slot's worker changed meanwhile (old crashed and was restarted), that
     * one is retired: the replacement is already online.
     */
    void swapIn(Worker fresh, Worker old) {
        Slot slot = slots.get(fresh.instance);
        if (slot != null) take(slot, fresh, old);
        else cluster.retirement().retire(fresh, true); // the instance was scaled away meanwhile
    }

    /** Starts the slot's worker afresh (restart, or after an errored crash loop). */
    Worker relaunch(int instance) {
        Slot slot = slots.get(instance);
        if (slot == null) return null;
        slot.unstableRestarts = 0;
        slot.nextDelayMillis = 0;
        return launch(slot, true);
    }

    /** The instances' current workers that are online, by instance. */
    List<Worker> online() {
        return slots.values().stream().map(slot -> slot.worker)
                .filter(worker -> worker != null && worker.state == WorkerState.ONLINE).toList();
    }

    /** The current worker of each instance (null where none is running), by instance. */
    Map<Integer, Worker> current() {
        Map<Integer, Worker> workers = new TreeMap<>();
        slots.forEach((instance, slot) -> workers.put(instance, slot.worker != null && cluster.isLive(slot.worker) ? slot.worker : null));
        return workers;
    }

    /**
     * Starts a worker JVM for the slot's instance index.
     *
     * @param intoSlot true to make it the slot's worker now (start, restart, scale-up); false for
     *                 a replacement that takes the slot only once it is online (reload)
     * @return the worker, or null when the app is stopping or no JVM could be started
     */
    private Worker launch(Slot slot, boolean intoSlot) {
        if (cluster.isStopping()) return null;
        Worker worker = cluster.launch(slot.instance);
        if (intoSlot) {
            take(slot, worker, null);
            if (worker == null) scheduleRestart(slot, RestartPolicy.NEVER_ONLINE);
        }
        return worker;
    }

    /**
     * Makes {@code worker} (null for none) the slot's worker: a pending restart is cancelled, and
     * any other live worker the slot held is retired — except {@code replaced}, which the caller
     * retires itself. So an instance never ends up with two workers, whatever crashed when.
     */
    private void take(Slot slot, Worker worker, Worker replaced) {
        if (slot.restart != null) slot.restart.cancel(false);
        slot.restart = null;
        Worker current = slot.worker;
        if (current != null && current != worker && current != replaced && cluster.isLive(current)) cluster.retirement().retire(current, true);
        slot.worker = worker;
    }

    /** A worker exited without herd having asked: if it still held its slot, a restart is planned. */
    void exitedUnexpectedly(Worker worker) {
        Slot slot = slots.get(worker.instance);
        if (slot != null && slot.worker == worker) scheduleRestart(slot, RestartPolicy.onlineMillis(worker));
    }

    private void scheduleRestart(Slot slot, long onlineMillis) {
        RestartPolicy.Decision decision = restartPolicy.afterExit(slot, onlineMillis);
        if (decision.errored()) {
            String why = "crashed " + slot.unstableRestarts + " times in a row, each before it had been online " + restartPolicy.minUptimeMillis()
                    + " ms: not restarted until an operator acts (restart)";
            if (slot.worker != null) cluster.move(slot.worker, WorkerState.ERRORED, why);
            else LOG.log(Level.ERROR, "{0}#{1} {2}", cluster.name(), Integer.toString(slot.instance), why);
            return;
        }
        slot.restarts++;
        String plan = "restart " + slot.restarts + " in " + decision.delayMillis() + " ms";
        if (slot.worker != null) cluster.move(slot.worker, WorkerState.WAITING_RESTART, plan);
        else LOG.log(Level.INFO, "{0}#{1}: {2}", cluster.name(), Integer.toString(slot.instance), plan);
        // Runs only if it is still the slot's pending restart: anything that takes the slot meanwhile
        // (a reload's replacement, restart(), a scale-down) cancels or replaces it.
        AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
        self.set(cluster.later(() -> {
            if (!cluster.isStopping() && slot.restart == self.get() && slots.get(slot.instance) == slot) launch(slot, true);
        }, decision.delayMillis()));
        slot.restart = self.get();
    }

    /** The app is stopping: pending restarts are cancelled, and the workers that waited for them stopped. */
    void cancelRestarts() {
        for (Slot slot : slots.values()) {
            if (slot.restart == null) continue;
            slot.restart.cancel(false);
            slot.restart = null;
            if (slot.worker != null && slot.worker.state == WorkerState.WAITING_RESTART) {
                cluster.move(slot.worker, WorkerState.STOPPED, "restart cancelled: the app is stopping");
            }
        }
    }
}
