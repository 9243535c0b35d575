package io.herd.engine;

import java.lang.System.Logger.Level;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * An app's instances, on its cluster's event thread: for each instance index, the worker holding
 * it now and its restart history; and the restarts after unexpected exits, with the back-off of
 * the {@link RestartPolicy}. An instance never has two workers: whatever takes a slot retires the
 * worker it held.
 *
 * <p>Warm spares ({@code spares}) are slots too, with indices of their own: one index space for
 * both, the lowest free index for each new slot, so at start the serving workers hold 0 to n-1
 * and the spares n onwards ({@code HERD_INSTANCE} is fixed at a worker's launch, so an index
 * cannot follow a worker from one role to the other: the slot does). A spare's worker becomes
 * {@link WorkerState#SPARE} when ready, out of rotation. When a serving worker exits unexpectedly,
 * a spare's slot becomes a serving slot, its worker online at once, keeping its index; the
 * crashed worker's slot becomes a spare slot, and is restarted by the restart policy, as a spare.
 * So crash loops end errored as before, whichever role a slot has, and the number of spare slots
 * stays {@code spares}. A scale-up takes spares first, then new spares are started.
 */
final class Instances {
    /** Logs as the cluster it was split from, so operators' logging configuration still finds these lines. */
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());

    private final Cluster cluster;
    private final RestartPolicy restartPolicy;
    /** The serving instances, by index: their workers go online, into rotation. */
    private final Map<Integer, Slot> slots = new TreeMap<>();
    /** The spares, by index (never one of the serving instances'): their workers are kept ready out of rotation. */
    private final Map<Integer, Slot> spareSlots = new TreeMap<>();

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

    /** Every serving slot, by instance (read-only). */
    Map<Integer, Slot> slots() {
        return Collections.unmodifiableMap(slots);
    }

    /** Every spare slot, by instance (read-only). */
    Map<Integer, Slot> spareSlots() {
        return Collections.unmodifiableMap(spareSlots);
    }

    /** The serving instances: the app's size. */
    int count() {
        return slots.size();
    }

    /** A new serving instance with the lowest free index, and its first worker. */
    Slot add() {
        return addTo(slots);
    }

    /** Starts spares, each with the lowest free index, until there are {@code spares} of them (waiting or errored ones count). */
    void fillSpares() {
        while (spareSlots.size() < cluster.config().spares() && !cluster.isStopping()) addTo(spareSlots);
    }

    private Slot addTo(Map<Integer, Slot> role) {
        int instance = 0;
        while (slots.containsKey(instance) || spareSlots.containsKey(instance)) instance++;
        Slot slot = new Slot(instance);
        role.put(instance, slot);
        launch(slot, true);
        return slot;
    }

    /** True when the worker's index is a spare's: ready, it becomes a spare rather than online. */
    boolean holdsSpare(Worker worker) {
        return spareSlots.containsKey(worker.instance);
    }

    /**
     * A spare takes a serving place: its slot becomes a serving one, and its worker, when ready,
     * goes online and into rotation now (one still launching goes online once ready). Ready spares
     * are taken first, then launching ones, lowest index first.
     *
     * @param why what it takes the place of, for the log
     * @return the slot taken, now serving; null when no spare runs
     */
    Slot takeSpare(String why) {
        Slot taken = null;
        for (Slot slot : spareSlots.values()) {
            if (slot.worker == null || !cluster.isLive(slot.worker)) continue;
            if (slot.worker.state == WorkerState.SPARE) {
                taken = slot;
                break;
            }
            if (taken == null && slot.worker.state == WorkerState.LAUNCHING) taken = slot;
        }
        if (taken == null) return null;
        spareSlots.remove(taken.instance);
        slots.put(taken.instance, taken);
        if (taken.worker.state == WorkerState.SPARE) {
            cluster.move(taken.worker, WorkerState.ONLINE, "a spare, " + why);
            cluster.updateRotation();
        } else {
            LOG.log(Level.INFO, "{0}: a launching spare, {1}: online once ready", taken.worker.name(), why);
        }
        return taken;
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

    /** A replacement for the instance's (or spare's) worker; it takes the slot in {@link #swapIn} once ready. */
    Worker launchReplacement(int instance) {
        Slot slot = slotOf(instance);
        return slot == null ? null : launch(slot, false);
    }

    /**
     * The ready replacement takes its instance's slot, in place of {@code old}, which the caller
     * retires next. Had the slot's worker changed meanwhile (old crashed and was restarted), that
     * one is retired: the replacement is already ready. Had the slot changed role meanwhile (old
     * crashed, and a spare took its place), the replacement takes the role its slot has now: a
     * spare replacement goes online; an online one is not kept in a spare's slot, whose pending
     * restart brings its spare.
     */
    void swapIn(Worker fresh, Worker old) {
        Slot slot = slots.get(fresh.instance);
        if (slot != null) {
            if (fresh.state == WorkerState.SPARE) {
                cluster.move(fresh, WorkerState.ONLINE, "a spare, takes its instance's place");
                cluster.updateRotation();
            }
            take(slot, fresh, old);
            return;
        }
        Slot spare = spareSlots.get(fresh.instance);
        if (spare != null && fresh.state == WorkerState.SPARE) take(spare, fresh, old);
        else cluster.retirement().retire(fresh, true); // the instance was scaled away meanwhile, or is a spare's now
    }

    /** Starts the slot's worker afresh (restart, or after an errored crash loop). */
    Worker relaunch(int instance) {
        Slot slot = slotOf(instance);
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
        return currentOf(slots);
    }

    /** The current worker of each spare slot (null where none is running), by index. */
    Map<Integer, Worker> currentSpares() {
        return currentOf(spareSlots);
    }

    private Map<Integer, Worker> currentOf(Map<Integer, Slot> role) {
        Map<Integer, Worker> workers = new TreeMap<>();
        role.forEach((instance, slot) -> workers.put(instance, slot.worker != null && cluster.isLive(slot.worker) ? slot.worker : null));
        return workers;
    }

    /** The slot with this index, serving or spare; null when there is none. */
    Slot slotOf(int instance) {
        Slot slot = slots.get(instance);
        return slot != null ? slot : spareSlots.get(instance);
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

    /**
     * A worker exited without herd having asked: if it still held its slot, a restart is planned.
     * A serving worker's place is taken by a spare first, at once, when one runs: the crashed
     * worker's slot is then a spare's, and its restart brings a new spare.
     */
    void exitedUnexpectedly(Worker worker) {
        Slot slot = slotOf(worker.instance);
        if (slot == null || slot.worker != worker) return;
        if (slots.get(worker.instance) == slot && takeSpare("takes the place of " + worker.name() + ", which exited unexpectedly") != null) {
            slots.remove(slot.instance);
            spareSlots.put(slot.instance, slot);
        }
        scheduleRestart(slot, RestartPolicy.onlineMillis(worker));
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
        String plan = "restart " + slot.restarts + " in " + decision.delayMillis() + " ms" + (spareSlots.get(slot.instance) == slot ? ", as a spare" : "");
        if (slot.worker != null) cluster.move(slot.worker, WorkerState.WAITING_RESTART, plan);
        else LOG.log(Level.INFO, "{0}#{1}: {2}", cluster.name(), Integer.toString(slot.instance), plan);
        // Runs only if it is still the slot's pending restart: anything that takes the slot meanwhile
        // (a reload's replacement, restart(), a scale-down) cancels or replaces it.
        AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
        self.set(cluster.later(() -> {
            if (!cluster.isStopping() && slot.restart == self.get() && slotOf(slot.instance) == slot) launch(slot, true);
        }, decision.delayMillis()));
        slot.restart = self.get();
    }

    /** The app is stopping: pending restarts are cancelled, and the workers that waited for them stopped. */
    void cancelRestarts() {
        for (Slot slot : Stream.concat(slots.values().stream(), spareSlots.values().stream()).toList()) {
            if (slot.restart == null) continue;
            slot.restart.cancel(false);
            slot.restart = null;
            if (slot.worker != null && slot.worker.state == WorkerState.WAITING_RESTART) {
                cluster.move(slot.worker, WorkerState.STOPPED, "restart cancelled: the app is stopping");
            }
        }
    }
}
