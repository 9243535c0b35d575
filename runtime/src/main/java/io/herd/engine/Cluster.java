package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.HerdConfig;
import io.herd.ipc.IpcChannel;
import io.herd.internal.PortOwnership;
import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One clustered app: its instances and their workers, through their whole life.
 *
 * <p>Everything that changes a worker — launching, readiness, exits, restarts, operations,
 * stopping — runs on the cluster's single event thread, which alone moves worker states
 * ({@link #move}) and sets the rotation its {@link Dispatcher} balances connections over. The
 * accept thread never waits for it. In proxy dispatch, its {@link PortWatch} keeps each worker's
 * port the worker's own, reading /proc off this thread and posting what it finds to it.
 */
public final class Cluster extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());

    private final AppConfig config;
    private final Master master;
    private final ExecutorService events;
    private final RestartPolicy restartPolicy;
    private final ClusterOperations operations = new ClusterOperations(this);
    private final PortWatch portWatch = new PortWatch(this);
    private final CopyOnWriteArrayList<Consumer<WorkerEvent>> listeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<Consumer<OperationEvent>> operationListeners = new CopyOnWriteArrayList<>();
    private final Dispatcher dispatcher;
    private final WorkerLauncher launcher;
    private volatile boolean stopping;
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    // Event-thread state
    private final Map<Integer, Slot> slots = new TreeMap<>();
    private final List<Worker> live = new ArrayList<>();
    private int launches;

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
        this.events = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "herd-" + config.name());
            thread.setDaemon(true);
            return thread;
        });
    }

    public String name() {
        return config.name();
    }

    public AppConfig config() {
        return config;
    }

    /** How often, roughly, worker CPU and memory are read from /proc. */
    private static final long SAMPLE_MILLIS = 2_000;
    private long nextMemoryCheckNanos;
    private ScheduledFuture<?> expiry;
    /** Multiplies memory.check.interval after replacements that failed, so a limit below what a fresh JVM needs does not launch JVMs forever. */
    private int memoryBackoff = 1;
    private static final int MAX_MEMORY_BACKOFF = 16;

    @Override
    protected void doStart() {
        expiry = master.housekeeping().scheduleWithFixedDelay(dispatcher::expireWaiting, 100, 100, TimeUnit.MILLISECONDS);
        nextMemoryCheckNanos = System.nanoTime() + jittered(config.memoryCheckInterval().toMillis()) * 1_000_000;
        later(this::sample, jittered(SAMPLE_MILLIS));
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
            events.shutdown();
        }
    }

    /** Where accepted connections go: the rotation, and the queue of those waiting for it. */
    Dispatcher dispatcher() {
        return dispatcher;
    }

    // ---- the event thread --------------------------------------------------------------------

    /** Runs a task on this cluster's event thread. */
    void post(Runnable task) {
        try {
            events.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, name() + ": event failed", e);
                } catch (Error e) {
                    master.fatalErrors().report(e); // the app's state may be half-changed: not safe to go on
                }
            });
        } catch (RejectedExecutionException stopped) {
            // The cluster has stopped: nothing is left to update.
        }
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
        Path socket = master.ipcDir().resolve(name() + "-" + slot.instance + "-" + (++launches) + ".sock");
        IpcChannel.Listener listener = null;
        try {
            listener = new IpcChannel.Listener(socket);
            InetSocketAddress proxyAddress = config.proxied() ? freeLoopbackAddress() : null;
            Process process = launcher.start(slot.instance, socket, proxyAddress == null ? 0 : proxyAddress.getPort());
            Worker worker = new Worker(this, slot.instance, process, listener, proxyAddress);
            if (intoSlot) takeSlot(slot, worker, null);
            live.add(worker);
            LOG.log(Level.INFO, "{0}: launching{1}", worker.name(), proxyAddress == null ? "" : ", to listen on port " + proxyAddress.getPort());
            worker.startReader(config.readyTimeout());
            process.onExit().thenRun(() -> post(() -> onExit(worker)));
            later(() -> onReadyTimeout(worker), config.readyTimeout().toMillis());
            if (proxyAddress != null) portWatch.launched(worker);
            return worker;
        } catch (IOException e) {
            if (listener != null) listener.close();
            LOG.log(Level.ERROR, "{0}#{1}: cannot start a worker JVM: {2}", name(), Integer.toString(slot.instance), e.getMessage());
            if (intoSlot) {
                takeSlot(slot, null, null);
                scheduleRestart(slot, 0);
            }
            return null;
        }
    }

    /**
     * A loopback port free now, for a worker to listen on. Another process could take it before
     * the worker does; then the worker fails to start, and is restarted with another.
     */
    private static InetSocketAddress freeLoopbackAddress() throws IOException {
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return (InetSocketAddress) probe.getLocalAddress();
        }
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

    /**
     * Samples every worker's CPU and memory, pings it (and kills it if it stopped answering), in
     * proxy dispatch has its port looked at, and replaces one over max.memory when a check is due.
     */
    private void sample() {
        if (stopping) return;
        for (Worker worker : live) {
            worker.sample();
            long unanswered = worker.unansweredPingMillis();
            if (unanswered >= config.pingTimeout().toMillis()) killUnresponsive(worker, unanswered);
            else worker.ping();
        }
        if (config.proxied()) portWatch.sample(live);
        long now = System.nanoTime();
        if (config.maxMemoryBytes() > 0 && now - nextMemoryCheckNanos >= 0) {
            nextMemoryCheckNanos = now + jittered(config.memoryCheckInterval().toMillis() * memoryBackoff) * 1_000_000;
            live.stream().filter(worker -> worker.state == WorkerState.ONLINE && worker.rssBytes > config.maxMemoryBytes())
                    .max(Comparator.comparingLong(worker -> worker.rssBytes))
                    .ifPresent(worker -> Thread.ofVirtual().name("herd-" + name() + "-memory")
                            .start(() -> operations.replaceOverMemory(worker)));
        }
        later(this::sample, jittered(SAMPLE_MILLIS));
    }

    /**
     * A worker whose SDK has not answered a ping for ping.timeout is unresponsive — stopped,
     * paused, its JVM stuck — and the connections sent to it would wait as long as it does. It is
     * killed: once it is dead they go to other workers (the master still holds each one), and it
     * is restarted as after a crash. A busy app is not: the SDK's reader answers whatever the app
     * is doing.
     */
    private void killUnresponsive(Worker worker, long unansweredMillis) {
        if (!worker.process().isAlive()) return;
        LOG.log(Level.WARNING, "{0} has not answered a ping for {1} ms: unresponsive; killing it (SIGKILL), "
                + "its {2} unaccepted connections go to other workers", worker.name(), unansweredMillis, worker.unacknowledged());
        worker.process().destroyForcibly();
    }

    /** A memory replacement ended: after a failure the next check waits twice as long (up to 16 intervals). */
    void memoryReplacementEnded(boolean replaced) {
        memoryBackoff = replaced ? 1 : Math.min(MAX_MEMORY_BACKOFF, memoryBackoff * 2);
    }

    /** {@code millis} ± 10%, so periodic work does not beat in step across apps and workers. */
    private static long jittered(long millis) {
        long spread = Math.max(1, millis / 10);
        return millis - spread + ThreadLocalRandom.current().nextLong(2 * spread + 1);
    }

    /** Where this app's threads send the Errors that escape them. */
    FatalErrors fatalErrors() {
        return master.fatalErrors();
    }

    /** Runs a task on the event thread after a delay. */
    void later(Runnable task, long delayMillis) {
        master.housekeeping().schedule(() -> post(task), delayMillis, TimeUnit.MILLISECONDS);
    }

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
        String refusal = worker.refusal();
        boolean expected = worker.state == WorkerState.STOPPING || stopping || refusal != null;
        move(worker, WorkerState.STOPPED, (expected ? "" : "unexpectedly: ") + "exited with " + describeExit(worker.exitCode));
        live.remove(worker);
        updateRotation();
        worker.online.completeExceptionally(new IllegalStateException(
                refusal != null ? refusal : "exited with " + describeExit(worker.exitCode) + " before it was ready"));
        worker.exit.complete(worker.exitCode);
        Slot slot = slots.get(worker.instance);
        if (stopping) {
            if (live.isEmpty()) stopped.complete(null);
        } else if (refusal != null) {
            // Its SDK speaks no IPC version this master does: a restart would be refused the same way.
            move(worker, WorkerState.ERRORED, refusal);
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
        self.set(master.housekeeping().schedule(() -> post(() -> {
            if (!stopping && slot.restart == self.get() && slots.get(slot.instance) == slot) launch(slot, true);
        }), decision.delayMillis(), TimeUnit.MILLISECONDS));
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
        if (current != null && current != worker && current != replaced && live.contains(current)) retire(current, true);
        slot.worker = worker;
    }

    // ---- what operations (ClusterOperations) do, one step at a time, on the event thread -------

    /** Runs {@code task} on the event thread and waits for its result. Never call it from there. */
    <T> T call(Callable<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            events.execute(() -> {
                try {
                    result.complete(task.call());
                } catch (Exception e) {
                    result.completeExceptionally(e);
                } catch (Error e) {
                    result.completeExceptionally(e);
                    master.fatalErrors().report(e);
                }
            });
        } catch (RejectedExecutionException stopped) {
            throw new IllegalStateException("app " + name() + " has stopped");
        }
        try {
            return result.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) throw runtime;
            throw new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(name() + ": no answer from the cluster's event thread", e);
        }
    }

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
            retire(worker, true);
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
        else retire(fresh, true); // the instance was scaled away meanwhile
    }

    /** Starts the slot's worker afresh (restart, or after an errored crash loop). */
    Worker relaunch(int instance) {
        Slot slot = slots.get(instance);
        if (slot == null) return null;
        slot.unstableRestarts = 0;
        slot.nextDelayMillis = 0;
        return launch(slot, true);
    }

    /**
     * Takes a worker out of rotation, then stops it: with the SDK's shutdown message
     * ({@code graceful}) or SIGTERM; SIGKILL after the app's kill timeout either way.
     */
    void retire(Worker worker, boolean graceful) {
        if (worker.state != WorkerState.ONLINE && worker.state != WorkerState.LAUNCHING) return; // stopping or gone already
        String stop = graceful ? "asked to drain" : "SIGTERM";
        move(worker, WorkerState.STOPPING, config.proxied()
                ? "out of rotation; its connections may finish within " + config.killTimeout().toMillis() + " ms, then " + stop
                : "out of rotation; " + stop);
        updateRotation();
        if (config.proxied()) drainThenStop(worker, graceful, System.nanoTime() + config.killTimeout().toNanos());
        else stopNow(worker, graceful);
    }

    /** The longest {@link #retire} takes before the worker is killed: proxy dispatch drains first, for up to kill.timeout. */
    long retireMillis() {
        long killTimeout = config.killTimeout().toMillis();
        return config.proxied() ? 2 * killTimeout : killTimeout;
    }

    /**
     * Proxy dispatch: a worker out of rotation keeps its relayed connections until they end or
     * the deadline passes, and only then is asked to stop: the master cannot tell a request in
     * flight from an idle connection, the app can.
     */
    private void drainThenStop(Worker worker, boolean graceful, long deadlineNanos) {
        if (!worker.process().isAlive()) return;
        if (worker.openConnections() > 0 && System.nanoTime() - deadlineNanos < 0) {
            later(() -> drainThenStop(worker, graceful, deadlineNanos), DRAIN_POLL_MILLIS);
            return;
        }
        stopNow(worker, graceful);
    }

    private static final long DRAIN_POLL_MILLIS = 50;

    /** The SDK's shutdown message ({@code graceful}, SIGTERM without the SDK) or SIGTERM; SIGKILL after kill.timeout. */
    void stopNow(Worker worker, boolean graceful) {
        if (graceful) worker.requestShutdown();
        else worker.process().destroy();
        later(() -> {
            if (!worker.process().isAlive()) return;
            LOG.log(Level.WARNING, "{0} did not stop within {1} ms: killing it", worker.name(),
                    Long.toString(config.killTimeout().toMillis()));
            worker.process().destroyForcibly();
        }, config.killTimeout().toMillis());
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

    boolean isStopping() {
        return stopping;
    }

    private static String describeExit(int code) {
        return code > 128 && code < 160 ? "signal " + (code - 128) + " (exit code " + code + ")" : "exit code " + code;
    }

    /** The one place a worker changes state: checked, logged, and published to the listeners. */
    private void move(Worker worker, WorkerState target, String reason) {
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
                    if (config.proxied()) drainThenStop(worker, true, drainDeadline);
                    else worker.requestShutdown();
                }
            }
            if (live.isEmpty()) stopped.complete(null);
            master.housekeeping().schedule(() -> post(this::killRemaining),
                    master.config().stopTimeout().toMillis(), TimeUnit.MILLISECONDS);
        });
        return stopped;
    }

    private void killRemaining() {
        for (Worker worker : live) {
            LOG.log(Level.WARNING, "{0} did not stop within {1} ms: killing it", worker.name(),
                    Long.toString(master.config().stopTimeout().toMillis()));
            worker.process().destroyForcibly();
        }
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

    /** A snapshot of this app and each of its workers, taken on the event thread. */
    public ClusterInfo info() {
        CompletableFuture<ClusterInfo> snapshot = new CompletableFuture<>();
        post(() -> snapshot.complete(snapshot()));
        try {
            return snapshot.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(name() + ": no answer from the cluster's event thread", e);
        }
    }

    private ClusterInfo snapshot() {
        List<WorkerInfo> workers = new ArrayList<>();
        for (Worker worker : live) {
            Slot slot = slots.get(worker.instance);
            workers.add(new WorkerInfo(worker.instance, worker.pid(), worker.state.label(), worker.uptimeMillis(),
                    slot == null ? 0 : slot.restarts, worker.handedOff(), worker.openConnections(), worker.bytesIn(), worker.bytesOut(), worker.exitCode,
                    worker.cpuPercent, worker.rssBytes));
        }
        for (Slot slot : slots.values()) {
            Worker last = slot.worker;
            if (last != null && !live.contains(last)) {
                workers.add(new WorkerInfo(slot.instance, last.pid(), last.state.label(), 0, slot.restarts,
                        last.handedOff(), 0, last.bytesIn(), last.bytesOut(), last.exitCode, 0, 0));
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
        return new ClusterInfo(name(), HerdConfig.keyOf(config.dispatch()), slots.size(), dispatcher.online(), dispatcher.accepted(), dispatcher.waiting(), dispatcher.dropped(),
                dispatcher.refused(), open, cpu, rss, workers);
    }
}
