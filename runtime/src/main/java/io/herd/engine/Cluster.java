package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One clustered app: its instances and their workers, through their whole life.
 *
 * <p>Everything that changes a worker — launching, readiness, exits, restarts, operations,
 * stopping — runs on the cluster's single {@link EventThread}, which alone moves worker states
 * ({@link #move}: the one place a state changes, along the arrows of {@link WorkerState}) and
 * sets the rotation its {@link Dispatcher} balances connections over. The accept thread never
 * waits for it. Each job that separates cleanly is a class of its own, run on that thread:
 * <ul>
 * <li>{@link Instances}: which worker holds each instance index, the warm spares, and restarts
 *     after a crash (a spare, when one runs, takes the crashed worker's place at once);
 * <li>{@link WorkerLauncher}: starts a worker's JVM, with its IPC socket and proxy port;
 * <li>{@link Readiness}: a launched worker until it is ready, or killed at ready.timeout;
 * <li>{@link HealthChecks}: CPU and memory samples, pings, max.memory;
 * <li>{@link HttpHealthChecks}: the app's HTTP health checks, if it has them;
 * <li>{@link Retirement}: how a worker leaves (out of rotation, drained, stopped, killed);
 * <li>{@link ClusterOperations}: scale, reload and restart, step by step;
 * <li>{@link PortWatch} (proxy dispatch): each worker's port kept its own, /proc read off the
 *     event thread and what it finds posted to it;
 * <li>{@link ClusterSnapshot}: what operators see ({@link #info}), taken on the event thread.
 * </ul>
 * This class keeps the live workers, their exits, and the app's start and stop.
 */
public final class Cluster extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());
    /** How long an operation's step waits for the event thread. */
    private static final long CALL_TIMEOUT_MILLIS = 30_000;

    private final AppConfig config;
    private final Master master;
    private final EventThread events;
    private final Dispatcher dispatcher;
    private final WorkerLauncher launcher;
    private final Instances instances;
    private final Readiness readiness;
    private final HealthChecks health;
    /** Null when the app has no HTTP health check. */
    private final HttpHealthChecks httpHealth;
    private final Retirement retirement;
    private final ClusterOperations operations = new ClusterOperations(this);
    private final PortWatch portWatch = new PortWatch(this);
    private final ClusterSnapshot snapshots;
    private final Listeners<WorkerEvent> listeners;
    private final Listeners<OperationEvent> operationListeners;
    /** The dispatcher's expiry of waiting connections (the lifecycle's thread). */
    private ScheduledFuture<?> expiry;
    /** Completes when every worker JVM has exited after {@link #shutdown}. */
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();

    // Event-thread state
    /**
     * Set by the event thread alone; volatile so that operations (on their callers' threads) can
     * refuse to begin once the app is stopping, without a round trip to it.
     */
    private volatile boolean stopping;
    /** The workers whose JVMs run, or are starting. */
    private final List<Worker> live = new ArrayList<>();

    Cluster(AppConfig config, Master master) {
        this.config = config;
        this.dispatcher = new Dispatcher(config);
        this.launcher = new WorkerLauncher(config, master);
        this.master = master;
        this.events = new EventThread(config.name(), master);
        this.snapshots = new ClusterSnapshot(this, events);
        this.health = new HealthChecks(this);
        this.httpHealth = config.health() == null ? null : new HttpHealthChecks(this);
        this.instances = new Instances(this);
        this.retirement = new Retirement(this);
        this.readiness = new Readiness(this);
        this.listeners = new Listeners<>(config.name() + ": a worker-state listener failed");
        this.operationListeners = new Listeners<>(config.name() + ": an operation listener failed");
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
            for (int instance = 0; instance < config.instances(); instance++) instances.add();
            instances.fillSpares();
        });
    }

    @Override
    protected void doStop() throws Exception {
        try {
            // a worker writing the AOT cache has longer (Retirement.killRemaining)
            shutdown().get(master.config().stopTimeout().toMillis() + WorkerAot.DUMP_ALLOWANCE_MILLIS + 10_000, TimeUnit.MILLISECONDS);
        } finally {
            if (expiry != null) expiry.cancel(false);
            if (httpHealth != null) httpHealth.close();
            post(snapshots::takeLast);
            events.stop(); // runs what was posted, the final snapshot last
        }
    }

    /** Where accepted connections go: the rotation, and the queue of those waiting for it. */
    Dispatcher dispatcher() {
        return dispatcher;
    }

    /** Proxy dispatch: what keeps each worker's port its own (relay threads tell it of failed connects). */
    PortWatch portWatch() {
        return portWatch;
    }

    /** A launched worker until it is ready: online, or killed at ready.timeout. */
    Readiness readiness() {
        return readiness;
    }

    /** How workers leave: out of rotation, drained, stopped, killed if need be. */
    Retirement retirement() {
        return retirement;
    }

    /** The app's instances, their workers and their restarts. */
    Instances instances() {
        return instances;
    }

    ClusterOperations operations() {
        return operations;
    }

    /** Where this app's threads send the Errors that escape them. */
    FatalErrors fatalErrors() {
        return master.fatalErrors();
    }

    boolean isStopping() {
        return stopping;
    }

    /** Whether the worker's JVM runs, or is starting. */
    boolean isLive(Worker worker) {
        return live.contains(worker);
    }

    /** The workers whose JVMs run (or are starting): copied, as exits change the list. */
    List<Worker> liveWorkers() {
        return List.copyOf(live);
    }

    // ---- the event thread ----------------------------------------------------------------------

    /** Runs a task on this cluster's event thread. */
    void post(Runnable task) {
        events.post(task);
    }

    /** Runs a task on this cluster's event thread after a delay. */
    ScheduledFuture<?> later(Runnable task, long delayMillis) {
        return events.later(task, delayMillis);
    }

    /** Completes once the event thread has run what was posted before: it still goes round. */
    CompletableFuture<Void> roundTrip() {
        return events.roundTrip();
    }

    /** The app's HTTP health checks (for tests); null when it has none. */
    HttpHealthChecks httpHealth() {
        return httpHealth;
    }

    /** Runs {@code task} on the event thread and waits (bounded) for its result: how an operation takes a step. */
    <T> T call(Callable<T> task) {
        return events.call(task, CALL_TIMEOUT_MILLIS);
    }

    // ---- a worker's life, on the event thread --------------------------------------------------

    /**
     * Starts a worker JVM for an instance ({@link Instances} decides which, and when): from now on
     * its exit, its ready timeout and, in proxy dispatch, its port are watched.
     *
     * @return the worker, or null when no JVM could be started
     */
    Worker launch(int instance) {
        Worker worker;
        try {
            worker = launcher.launch(this, instance);
        } catch (IOException e) {
            LOG.log(Level.ERROR, "{0}#{1}: cannot start a worker JVM: {2}", name(), Integer.toString(instance), e.getMessage());
            return null;
        }
        live.add(worker);
        LOG.log(Level.INFO, "{0}: launching{1}", worker.name(), worker.proxyAddress() == null ? "" : ", to listen on port " + worker.proxyAddress().getPort());
        // A second longer than the ready timeout: that is what reports and kills a worker that never
        // connects; the reader's own deadline is only a backstop, and would report it twice.
        worker.startReader(config.readyTimeout().plusSeconds(1));
        worker.process().onExit().thenRun(() -> post(() -> onExit(worker)));
        readiness.launched(worker);
        return worker;
    }

    /** The worker called the SDK's ready() (its IPC reader posts this). */
    void onReady(Worker worker) {
        readiness.onReady(worker);
    }

    /**
     * The worker stopped accepting (its app closed its HerdWorker, or it is draining): it leaves
     * rotation. Its state stays as it is: if it then exits without herd having asked, that is
     * an unexpected exit, and it is restarted.
     */
    void onStoppedAccepting(Worker worker) {
        updateRotation();
    }

    /** The worker's IPC channel ended (or never opened): it leaves rotation, and is killed if it still runs. */
    void onChannelGone(Worker worker) {
        updateRotation();
        if (worker.process().isAlive()) {
            // A worker without its channel can never get work or a stop message again.
            worker.process().destroyForcibly();
        }
    }

    /** Its JVM exited: stopped, and out of the live workers; its instance restarts it if herd did not ask it to go. */
    private void onExit(Worker worker) {
        worker.exited();
        worker.exitCode = worker.process().exitValue();
        String refusal = worker.refusal();
        boolean expected = worker.state == WorkerState.STOPPING || stopping || refusal != null;
        launcher.exited(worker, worker.state == WorkerState.STOPPING || stopping);
        move(worker, WorkerState.STOPPED, (expected ? "" : "unexpectedly: ") + "exited with " + describeExit(worker.exitCode));
        live.remove(worker);
        updateRotation();
        worker.online.completeExceptionally(new IllegalStateException(
                refusal != null ? refusal : "exited with " + describeExit(worker.exitCode) + " before it was ready"));
        worker.exit.complete(worker.exitCode);
        if (stopping) {
            if (live.isEmpty()) stopped.complete(null);
        } else if (refusal != null) {
            // Its SDK speaks no IPC version this master does: a restart would be refused the same way.
            move(worker, WorkerState.ERRORED, refusal);
        } else if (!expected) {
            instances.exitedUnexpectedly(worker);
        }
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
        if (httpHealth != null) httpHealth.moved(worker, target);
        listeners.publish(new WorkerEvent(name(), worker.instance, worker.pid(), from, target, reason, Instant.now()));
    }

    /**
     * The workers online and taking connections become the rotation (event thread). In shared
     * dispatch each worker entering it is passed the app's listening sockets: only then does it
     * accept, so a spare, or a worker not yet ready, never takes a connection.
     */
    void updateRotation() {
        Worker[] rotation = live.stream().filter(worker -> worker.state == WorkerState.ONLINE && worker.accepting()).toArray(Worker[]::new);
        if (config.shared()) {
            List<Acceptor.SharedSocket> sockets = master.sharedSockets(this);
            for (Worker worker : rotation) worker.startAccepting(sockets);
        }
        dispatcher.setRotation(rotation);
    }

    /** Proxy dispatch: relays the connection to the worker's port. */
    void relay(Connection connection, Worker worker) {
        master.relay().open(connection, worker, config.proxy());
    }

    // ---- stopping, and who hears what happens --------------------------------------------------

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
            instances.cancelRestarts();
            // Proxy dispatch: relayed connections may finish first, within half the stop timeout.
            long drainDeadline = System.nanoTime() + Math.min(config.killTimeout().toNanos(), master.config().stopTimeout().toNanos() / 2);
            for (Worker worker : live) {
                if (worker.state.running()) {
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
        operationListeners.publish(event);
    }

    // ---- what operators do: each blocks until done, one at a time -----------------------------

    /**
     * Sets the number of instances: up takes spares first, then starts workers at the lowest free
     * indices, and new spares replace the ones taken; down drains the highest (out of rotation
     * first, then a graceful stop), and the spares stay.
     *
     * @throws IllegalArgumentException outside 0 to {@code max.instances}; nothing changes
     * @throws ClusterBusyException     while another operation runs ("busy: ...")
     */
    public OperationResult scale(int instances) {
        return operations.scale(instances);
    }

    /** {@link #scale} relative to the current count: {@code +3}, {@code -1}. */
    public OperationResult scaleBy(int delta) {
        return operations.scaleBy(delta);
    }

    /**
     * Rolling reload: up to {@code reload.surge} replacements start at once; as each comes online,
     * the worker it replaces leaves rotation and gets SIGTERM (SIGKILL after {@code kill.timeout}),
     * and the next replacement starts. A replacement that fails stops the reload there: it is
     * killed, and the old workers not yet replaced keep serving. Then the spares are replaced,
     * all at once, each replacement ready before its old spare stops.
     */
    public OperationResult reload() {
        return operations.reload(false);
    }

    /** {@link #reload}, but the old worker is asked over IPC to drain and exit by itself. */
    public OperationResult gracefulReload() {
        return operations.reload(true);
    }

    /** Stops every worker, spares too, then starts them all again: not zero-downtime, like {@code pm2 restart}. */
    public OperationResult restart() {
        return operations.restart();
    }

    /** The operation in progress, or null. */
    public String runningOperation() {
        return operations.running();
    }

    // ---- what operators see ------------------------------------------------------------------

    /**
     * A snapshot of this app and each of its workers, taken on its event thread (any thread may
     * ask; see {@link ClusterSnapshot}); once the app has stopped, the one taken as it stopped.
     *
     * @throws IllegalStateException when the event thread did not answer within 5 s
     */
    public ClusterInfo info() {
        return snapshots.info();
    }
}
