package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.internal.PortOwnership;
import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One clustered app: its instances and their workers, through their whole life.
 *
 * <p>Everything that changes a worker — launching, readiness, exits, restarts, operations,
 * stopping — runs on the cluster's single {@link EventThread}, which alone moves worker states
 * ({@link #move}, the one place a state changes) and sets the rotation its {@link Dispatcher}
 * balances connections over. The accept thread never waits for it. The jobs that separate
 * cleanly are classes of their own, each run on that thread: {@link WorkerLauncher} starts the
 * JVMs, {@link HealthChecks} samples, pings and enforces max.memory, {@link Retirement} drains and
 * stops workers, {@link ClusterOperations} runs scale, reload and restart step by step, and in
 * proxy dispatch {@link PortWatch} keeps each worker's port the worker's own, reading /proc off
 * the event thread and posting what it finds to it. What operators see ({@link #info}) is taken
 * on the event thread too.
 */
public final class Cluster extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());

    /** How long a JMX or HTTP thread waits for a snapshot before it gives up on the event thread. */
    private static final long SNAPSHOT_TIMEOUT_MILLIS = 5_000;
    /** How long an operation's step waits for the event thread. */
    private static final long CALL_TIMEOUT_MILLIS = 30_000;

    private final AppConfig config;
    private final Master master;
    private final EventThread events;
    private final RestartPolicy restartPolicy;
    private final ClusterOperations operations = new ClusterOperations(this);
    private final PortWatch portWatch = new PortWatch(this);
    private final HealthChecks health;
    private final Retirement retirement;
    private final CopyOnWriteArrayList<Consumer<WorkerEvent>> listeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<Consumer<OperationEvent>> operationListeners = new CopyOnWriteArrayList<>();
    private final Dispatcher dispatcher;
    private final WorkerLauncher launcher;
    /**
     * Set by the event thread alone; volatile so that operations (on their callers' threads) can
     * refuse to begin once the app is stopping, without a round trip to it.
     */
    private volatile boolean stopping;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    /** The event thread's last snapshot, taken as it stops: what a stopped cluster answers {@link #info} with. */
    private final CompletableFuture<ClusterInfo> finalSnapshot = new CompletableFuture<>();
    /** The dispatcher's expiry of waiting connections (the lifecycle's thread). */
    private ScheduledFuture<?> expiry;

    // Event-thread state
    private final Map<Integer, Slot> slots = new TreeMap<>();
    private final List<Worker> live = new ArrayList<>();

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

    Cluster(AppConfig config, Master master) {
        this.config = config;
        this.restartPolicy = new RestartPolicy(config.restart());
        this.dispatcher = new Dispatcher(config);
        this.launcher = new WorkerLauncher(config, master);
        this.master = master;
        this.events = new EventThread(config.name(), master);
        this.health = new HealthChecks(this);
        this.retirement = new Retirement(this);
    }

    public String name() {
        return config.name();
    }

    public AppConfig config() {
        return config;
    }

    @Override
    protected void doStart() {
        expiry = master.housekeeping().scheduleWithFixedDelay(dispatcher::expireWaiting, 100, 100, TimeUnit.MILLISECONDS);
        health.start();
        post(() -> {
            for (int instance = 0; instance < config.instances(); instance++) addSlot();
        });
    }

    @Override
    protected void doStop() throws Exception {
        try {
            shutdown().get(master.config().stopTimeout().toMillis() + 10_000, TimeUnit.MILLISECONDS);
        } finally {
            if (expiry != null) expiry.cancel(false);
            post(this::takeFinalSnapshot);
            events.stop(); // runs what was posted, the final snapshot last
        }
    }

    /** Where accepted connections go: the rotation, and the queue of those waiting for it. */
    Dispatcher dispatcher() {
        return dispatcher;
    }

    /**
     * Starts a worker JVM for the slot's instance index.
     *
     * @param intoSlot true to make it the slot's worker now (start, restart, scale-up); false for
     *                 a replacement that takes the slot only once it is online (reload)
     * @return the worker, or null when no JVM could be started
     */
    private Worker launch(Slot slot, boolean intoSlot) {
        if (stopping) return null;
        Worker worker;
        try {
            worker = launcher.launch(this, slot.instance);
        } catch (IOException e) {
            LOG.log(Level.ERROR, "{0}#{1}: cannot start a worker JVM: {2}", name(), Integer.toString(slot.instance), e.getMessage());
            if (intoSlot) {
                takeSlot(slot, null, null);
                scheduleRestart(slot, 0);
            }
            return null;
        }
        if (intoSlot) takeSlot(slot, worker, null);
        live.add(worker);
        LOG.log(Level.INFO, "{0}: launching{1}", worker.name(), worker.proxyAddress() == null ? "" : ", to listen on port " + worker.proxyAddress().getPort());
        worker.startReader(config.readyTimeout());
        worker.process().onExit().thenRun(() -> post(() -> onExit(worker)));
        later(() -> onReadyTimeout(worker), config.readyTimeout().toMillis());
        if (worker.proxyAddress() != null) portWatch.launched(worker);
        return worker;
    }

    /** Proxy dispatch: relays the connection to the worker's port. */
    void relay(Connection connection, Worker worker) {
        master.relay().open(connection, worker, config.proxy());
    }

    /** The worker called the SDK's ready(). In proxy dispatch, its port must be its own first. */
    void onReady(Worker worker) {
        if (worker.state != WorkerState.LAUNCHING) return;
        if (config.proxied()) portWatch.readyCalled(worker);
        else becomeOnline(worker);
    }

    /** Proxy dispatch: what keeps each worker's port its own (relay threads tell it of failed connects). */
    PortWatch portWatch() {
        return portWatch;
    }

    /** The worker is ready: online and in rotation (event thread; in proxy dispatch, once its port is its own). */
    void becomeOnline(Worker worker) {
        if (stopping) {
            move(worker, WorkerState.STOPPING, "ready while the app is stopping");
            worker.requestShutdown();
            return;
        }
        worker.onlineNanos = System.nanoTime();
        move(worker, WorkerState.ONLINE, "ready after " + worker.aliveMillis() + " ms");
        updateRotation();
        worker.online.complete(null);
    }

    private void onReadyTimeout(Worker worker) {
        if (worker.state != WorkerState.LAUNCHING) return;
        PortOwnership seen = worker.lastPortCheck;
        String missed;
        if (!config.proxied()) missed = "did not call ready()";
        else if (seen == null || seen.verdict() == PortOwnership.Verdict.NOBODY_LISTENS) {
            missed = "did not open its port " + worker.proxyAddress().getPort() + " (nor call ready())";
        } else missed = "was not seen to hold its port: " + seen.describe() + ",";
        String why = missed + " within " + config.readyTimeout().toMillis() + " ms";
        LOG.log(Level.WARNING, "{0} {1}: killing it", worker.name(), why);
        worker.online.completeExceptionally(new IllegalStateException(why));
        worker.process().destroyForcibly();
    }

    /**
     * The worker stopped accepting (its app closed its HerdWorker, or it is draining): it leaves
     * rotation. Its state stays as it is: if it then exits without herd having asked, that is
     * an unexpected exit, and it is restarted.
     */
    void onStoppedAccepting(Worker worker) {
        updateRotation();
    }

    /** Where this app's threads send the Errors that escape them. */
    FatalErrors fatalErrors() {
        return master.fatalErrors();
    }

    // ---- the event thread ----------------------------------------------------------------------

    /** Runs a task on this cluster's event thread. */
    void post(Runnable task) {
        events.post(task);
    }

    /** Runs a task on this cluster's event thread after a delay. */
    void later(Runnable task, long delayMillis) {
        events.later(task, delayMillis);
    }

    /** Runs {@code task} on the event thread and waits (bounded) for its result: how an operation takes a step. */
    <T> T call(Callable<T> task) {
        return events.call(task, CALL_TIMEOUT_MILLIS);
    }

    // ---- a worker's life, on the event thread --------------------------------------------------

    void onChannelGone(Worker worker) {
        updateRotation();
        if (worker.process().isAlive()) {
            // A worker without its channel can never get work or a stop message again.
            worker.process().destroyForcibly();
        }
    }

    private void onExit(Worker worker) {
        worker.exited();
        worker.exitCode = worker.process().exitValue();
        boolean expected = worker.state == WorkerState.STOPPING || stopping;
        move(worker, WorkerState.STOPPED, (expected ? "" : "unexpectedly: ") + "exited with " + describeExit(worker.exitCode));
        live.remove(worker);
        updateRotation();
        worker.online.completeExceptionally(new IllegalStateException("exited with " + describeExit(worker.exitCode) + " before it was ready"));
        worker.exit.complete(worker.exitCode);
        Slot slot = slots.get(worker.instance);
        if (stopping) {
            if (live.isEmpty()) stopped.complete(null);
        } else if (!expected && slot != null && slot.worker == worker) {
            scheduleRestart(slot, worker.aliveMillis());
        }
    }

    private void scheduleRestart(Slot slot, long aliveMillis) {
        RestartPolicy.Decision decision = restartPolicy.afterExit(slot, aliveMillis);
        if (decision.errored()) {
            String why = "crashed " + slot.unstableRestarts + " times in a row, each within " + restartPolicy.minUptimeMillis()
                    + " ms of starting: not restarted until an operator acts (restart)";
            if (slot.worker != null) move(slot.worker, WorkerState.ERRORED, why);
            else LOG.log(Level.ERROR, "{0}#{1} {2}", name(), Integer.toString(slot.instance), why);
            return;
        }
        slot.restarts++;
        String plan = "restart " + slot.restarts + " in " + decision.delayMillis() + " ms";
        if (slot.worker != null) move(slot.worker, WorkerState.WAITING_RESTART, plan);
        else LOG.log(Level.INFO, "{0}#{1}: {2}", name(), Integer.toString(slot.instance), plan);
        // Runs only if it is still the slot's pending restart: anything that takes the slot meanwhile
        // (a reload's replacement, restart(), a scale-down) cancels or replaces it.
        AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
        self.set(events.later(() -> {
            if (!stopping && slot.restart == self.get() && slots.get(slot.instance) == slot) launch(slot, true);
        }, decision.delayMillis()));
        slot.restart = self.get();
    }

    /**
     * Makes {@code worker} (null for none) the slot's worker: a pending restart is cancelled, and
     * any other live worker the slot held is retired — except {@code replaced}, which the caller
     * retires itself. So an instance never ends up with two workers, whatever crashed when.
     */
    private void takeSlot(Slot slot, Worker worker, Worker replaced) {
        if (slot.restart != null) slot.restart.cancel(false);
        slot.restart = null;
        Worker current = slot.worker;
        if (current != null && current != worker && current != replaced && live.contains(current)) retirement.retire(current, true);
        slot.worker = worker;
    }

    // ---- what operations (ClusterOperations) do, one step at a time, on the event thread -------

    /** A new instance with the lowest free index, and its first worker. */
    Slot addSlot() {
        int instance = 0;
        while (slots.containsKey(instance)) instance++;
        Slot slot = new Slot(instance);
        slots.put(instance, slot);
        launch(slot, true);
        return slot;
    }

    /** Removes an instance: its worker leaves rotation and is stopped gracefully. */
    Worker removeSlot(int instance) {
        Slot slot = slots.remove(instance);
        if (slot == null) return null;
        if (slot.restart != null) slot.restart.cancel(false);
        slot.restart = null;
        Worker worker = slot.worker;
        if (worker != null && live.contains(worker)) {
            retirement.retire(worker, true);
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
        if (slot != null) takeSlot(slot, fresh, old);
        else retirement.retire(fresh, true); // the instance was scaled away meanwhile
    }

    /** Starts the slot's worker afresh (restart, or after an errored crash loop). */
    Worker relaunch(int instance) {
        Slot slot = slots.get(instance);
        if (slot == null) return null;
        slot.unstableRestarts = 0;
        slot.nextDelayMillis = 0;
        return launch(slot, true);
    }

    /** How workers leave: out of rotation, drained, stopped, killed if need be. */
    Retirement retirement() {
        return retirement;
    }

    /** The instances' current workers that are online, by instance. */
    List<Worker> onlineWorkers() {
        return slots.values().stream().map(slot -> slot.worker)
                .filter(worker -> worker != null && worker.state == WorkerState.ONLINE).toList();
    }

    /** The current worker of each instance (null where none is running), by instance. */
    Map<Integer, Worker> slotWorkers() {
        Map<Integer, Worker> workers = new TreeMap<>();
        slots.forEach((instance, slot) -> workers.put(instance, slot.worker != null && live.contains(slot.worker) ? slot.worker : null));
        return workers;
    }

    int instanceCount() {
        return slots.size();
    }

    /** The workers whose JVMs run (or are starting): copied, as exits change the list. */
    List<Worker> liveWorkers() {
        return List.copyOf(live);
    }

    ClusterOperations operations() {
        return operations;
    }

    boolean isStopping() {
        return stopping;
    }

    private static String describeExit(int code) {
        return code > 128 && code < 160 ? "signal " + (code - 128) + " (exit code " + code + ")" : "exit code " + code;
    }

    /** The one place a worker changes state (event thread): checked, logged, and published to the listeners. */
    void move(Worker worker, WorkerState target, String reason) {
        WorkerState from = worker.state;
        if (from == target) return;
        if (!from.canMoveTo(target)) {
            throw new IllegalStateException(worker.name() + ": " + from.label() + " cannot become " + target.label());
        }
        worker.state = target;
        boolean bad = target == WorkerState.ERRORED || reason.startsWith("unexpectedly");
        LOG.log(target == WorkerState.ERRORED ? Level.ERROR : bad ? Level.WARNING : Level.INFO,
                "{0}: {1} -> {2}: {3}", worker.name(), from.label(), target.label(), reason);
        WorkerEvent event = new WorkerEvent(name(), worker.instance, worker.pid(), from, target, reason, Instant.now());
        for (var listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name() + ": a worker-state listener failed", e);
            }
        }
    }

    /** Hears every worker state change of this app, on its event thread: keep it quick. */
    public void addListener(Consumer<WorkerEvent> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<WorkerEvent> listener) {
        listeners.remove(listener);
    }

    /** Hears every operation start and end, on the operation's thread. */
    public void addOperationListener(Consumer<OperationEvent> listener) {
        operationListeners.add(listener);
    }

    public void removeOperationListener(Consumer<OperationEvent> listener) {
        operationListeners.remove(listener);
    }

    void publish(OperationEvent event) {
        for (var listener : operationListeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name() + ": an operation listener failed", e);
            }
        }
    }

    /** The workers online and taking connections become the rotation (event thread). */
    void updateRotation() {
        dispatcher.setRotation(live.stream().filter(worker -> worker.state == WorkerState.ONLINE && worker.accepting())
                .toArray(Worker[]::new));
    }

    /**
     * Stops the app gracefully: out of rotation first, then each worker is asked to finish over
     * IPC; those still running after the service's stop timeout are killed.
     *
     * @return completes when every worker JVM has exited
     */
    public CompletableFuture<Void> shutdown() {
        post(() -> {
            if (stopping) return;
            stopping = true;
            dispatcher.close();
            for (Slot slot : slots.values()) {
                if (slot.restart == null) continue;
                slot.restart.cancel(false);
                slot.restart = null;
                if (slot.worker != null && slot.worker.state == WorkerState.WAITING_RESTART) {
                    move(slot.worker, WorkerState.STOPPED, "restart cancelled: the app is stopping");
                }
            }
            // Proxy dispatch: relayed connections may finish first, within half the stop timeout.
            long drainDeadline = System.nanoTime() + Math.min(config.killTimeout().toNanos(), master.config().stopTimeout().toNanos() / 2);
            for (Worker worker : live) {
                if (worker.state == WorkerState.ONLINE || worker.state == WorkerState.LAUNCHING) {
                    move(worker, WorkerState.STOPPING, "the app is stopping");
                    if (config.proxied()) retirement.drainThenStop(worker, true, drainDeadline);
                    else worker.requestShutdown();
                }
            }
            if (live.isEmpty()) stopped.complete(null);
            long stopTimeout = master.config().stopTimeout().toMillis();
            later(() -> retirement.killRemaining(live, stopTimeout), stopTimeout);
        });
        return stopped;
    }

    // ---- what operators do: each blocks until done, one at a time -----------------------------

    /**
     * Sets the number of instances: up starts workers at the lowest free indices; down drains the
     * highest (out of rotation first, then a graceful stop).
     *
     * @throws IllegalArgumentException outside 0 to {@code max.instances}; nothing changes
     * @throws IllegalStateException    while another operation runs ("busy: ...")
     */
    public OperationResult scale(int instances) {
        return operations.scale(instances);
    }

    /** {@link #scale} relative to the current count: {@code +3}, {@code -1}. */
    public OperationResult scaleBy(int delta) {
        return operations.scaleBy(delta);
    }

    /**
     * Rolling reload: for each worker in turn, a replacement starts and comes online, then the old
     * worker leaves rotation and gets SIGTERM (SIGKILL after {@code kill.timeout}). A replacement
     * that fails stops the reload there: the old workers keep serving.
     */
    public OperationResult reload() {
        return operations.reload(false);
    }

    /** {@link #reload}, but the old worker is asked over IPC to drain and exit by itself. */
    public OperationResult gracefulReload() {
        return operations.reload(true);
    }

    /** Stops every worker, then starts them all again: not zero-downtime, like {@code pm2 restart}. */
    public OperationResult restart() {
        return operations.restart();
    }

    /** The operation in progress, or null. */
    public String runningOperation() {
        return operations.running();
    }

    // ---- what operators see ------------------------------------------------------------------

    /**
     * A snapshot of this app and each of its workers, taken on the event thread: only it reads
     * their state safely, and all of it at one moment. Asked for while it runs, it is taken then
     * (the caller waits, at most 5 s: counters move on other threads, and an answer should be as
     * fresh as the question); once the cluster has stopped, it is the one taken as it stopped.
     *
     * @throws IllegalStateException when the event thread did not answer in time
     */
    public ClusterInfo info() {
        try {
            return events.call(this::snapshot, SNAPSHOT_TIMEOUT_MILLIS);
        } catch (EventThread.Stopped stopped) {
            return lastSnapshot();
        }
    }

    private ClusterInfo snapshot() {
        return ClusterSnapshot.of(config, slots, live, dispatcher);
    }

    /** The event thread's last task: the snapshot a stopped cluster answers with. */
    private void takeFinalSnapshot() {
        try {
            finalSnapshot.complete(snapshot());
        } catch (RuntimeException e) {
            finalSnapshot.completeExceptionally(e);
            throw e;
        }
    }

    /** The snapshot taken as the event thread stopped; posted before it stopped, it comes at once or soon. */
    private ClusterInfo lastSnapshot() {
        try {
            return finalSnapshot.get(SNAPSHOT_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(name() + ": no snapshot of the stopped cluster", e.getCause());
        } catch (TimeoutException | InterruptedException e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new IllegalStateException(name() + ": no answer from the cluster's event thread", e);
        }
    }
}
