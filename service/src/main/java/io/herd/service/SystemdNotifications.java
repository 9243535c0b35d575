package io.herd.service;

import io.herd.engine.Cluster;
import io.herd.engine.Master;
import io.herd.internal.SystemdNotifier;
import io.herd.lifecycle.LifeCycle;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the service tells systemd when it runs it as {@code Type=notify} (conf/herd.service):
 * <ul>
 *   <li>{@code STATUS=} ({@link ServiceStatus}) as apps and workers change, at most one line per
 *       {@value #COALESCE_MILLIS} ms, and only when it says something new;</li>
 *   <li>{@code READY=1} once every app has all its instances online, or at the longest
 *       {@code ready.timeout} with a STATUS saying what is missing;</li>
 *   <li>{@code RELOADING=1} with {@code MONOTONIC_USEC=} when SIGUSR2 reloads every app, then
 *       {@code READY=1} with a STATUS saying how it went; before the first READY=1, a STATUS only
 *       (systemd must hear READY=1 first);</li>
 *   <li>{@code STOPPING=1} as the service begins to stop, its drain delay included;</li>
 *   <li>{@code WATCHDOG=1} at half of {@code WATCHDOG_USEC}, each only once every event loop of
 *       the master has answered ({@link Master#heartbeat}): a stuck master goes silent, and systemd
 *       restarts it.</li>
 * </ul>
 * Started after the service's other parts, stopped before them; a reload told of before it started
 * sends nothing. Without {@code NOTIFY_SOCKET} it does nothing at all: no thread, no listener.
 */
final class SystemdNotifications extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(SystemdNotifications.class.getName());
    /** Workers change state in bursts (a reload moves each through three): one STATUS per this, at most. */
    static final long COALESCE_MILLIS = 250;
    /** Looked at this often anyway: apps added at run time get listeners, and a change no event told of is seen. */
    private static final long REFRESH_MILLIS = 2_000;

    private final Master master;
    private final SystemdNotifier systemd;
    private final ServiceStatus status;
    /** The apps whose events are heard. */
    private final Set<Cluster> heard = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean updatePending = new AtomicBoolean();
    /** Where every STATUS, READY and RELOADING is worked out and sent, one at a time, in order (set as it starts; a signal's thread reads it). */
    private volatile ScheduledExecutorService thread;
    private ScheduledFuture<?> heartbeat;

    // The notification thread's
    private boolean ready;
    private String lastStatus;
    /** Set, under this object's lock, as the service begins to stop: nothing but STOPPING=1 is sent from then on. */
    private boolean stopping;

    SystemdNotifications(Master master, SystemdNotifier systemd) {
        this.master = master;
        this.systemd = systemd;
        this.status = new ServiceStatus(master);
    }

    @Override
    protected void doStart() {
        if (!systemd.enabled()) return;
        thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread created = new Thread(runnable, "herd-systemd");
            created.setDaemon(true);
            return created;
        });
        onNotificationThread(this::update, 0);
        thread.scheduleWithFixedDelay(logged(this::update), REFRESH_MILLIS, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
        long longestReadyTimeout = master.config().apps().stream().mapToLong(app -> app.readyTimeout().toMillis()).max().orElse(0);
        onNotificationThread(this::readyAnyway, longestReadyTimeout);
        Duration interval = systemd.watchdogInterval();
        if (interval != null) heartbeat = master.heartbeat(interval, () -> sendUnlessStopping("WATCHDOG=1"));
    }

    @Override
    protected void doStop() throws InterruptedException {
        if (!systemd.enabled()) return;
        stopping(null);
        if (heartbeat != null) heartbeat.cancel(false);
        thread.shutdownNow();
        thread.awaitTermination(5, TimeUnit.SECONDS);
    }

    /**
     * The service begins to stop (its drain delay first, when it has one): STOPPING=1 now, once,
     * and nothing else from then on (any thread).
     *
     * @param status what the STATUS line says; null for the plain stop's
     */
    void stopping(String status) {
        if (!systemd.enabled()) return;
        synchronized (this) {
            if (stopping) return;
            stopping = true;
        }
        systemd.send("STOPPING=1", "STATUS=" + (status != null ? status : "stopping: workers finish their requests within herd.stop.timeout ("
                + master.config().stopTimeout().toSeconds() + " s)"));
    }

    /**
     * SIGUSR2: every app is about to reload (any thread). Before the first READY=1 only a STATUS:
     * systemd must hear READY=1 first, and the start's READY=1 still waits for every app online.
     */
    void reloading() {
        if (!systemd.enabled()) return;
        long now = SystemdNotifier.monotonicMicros();
        onNotificationThread(() -> {
            if (!ready) {
                sendUnlessStopping("STATUS=reloading every app (SIGUSR2) before every worker came online");
                return;
            }
            sendUnlessStopping("RELOADING=1", "MONOTONIC_USEC=" + now, "STATUS=reloading every app (SIGUSR2)");
        }, 0);
    }

    /**
     * Every app has reloaded, or tried: {@code outcome} says how, in the STATUS (any thread), with
     * READY=1 that ends the RELOADING=1. Before the first READY=1, READY=1 only if every app is
     * online now (else it comes as the start's does: every app online, or the ready timeout).
     */
    void reloaded(String outcome) {
        if (!systemd.enabled()) return;
        onNotificationThread(() -> {
            ServiceStatus.Line now = status.now();
            String text = SystemdNotifier.oneLine(outcome + " | " + now.text());
            if (ready || now.allOnline()) {
                sendReady(text);
            } else {
                sendUnlessStopping("STATUS=" + text);
            }
            lastStatus = now.text();
        }, 0);
    }

    /** A worker or an operation changed: a STATUS soon, one for the whole burst. */
    private void changed() {
        if (updatePending.compareAndSet(false, true)) {
            onNotificationThread(this::update, COALESCE_MILLIS);
        }
    }

    /** Notification thread: READY=1 once every app is online, else a STATUS when it says something new. */
    private void update() {
        updatePending.set(false);
        hearNewApps();
        ServiceStatus.Line now = status.now();
        if (!ready && now.allOnline()) {
            sendReady(now.text());
        } else if (!now.text().equals(lastStatus)) {
            lastStatus = now.text();
            sendUnlessStopping("STATUS=" + now.text());
        }
    }

    /** Notification thread, at the longest ready.timeout: READY=1 even if not every worker came, saying which did not. */
    private void readyAnyway() {
        if (ready) return;
        ServiceStatus.Line now = status.now();
        if (!now.allOnline()) {
            LOG.log(Level.WARNING, "telling systemd the service is ready though not every worker is online: {0}", now.text());
        }
        sendReady(now.text());
    }

    /** Notification thread: READY=1 with {@code statusText} as the STATUS, the first or one that ends a reload. */
    private void sendReady(String statusText) {
        ready = true;
        lastStatus = statusText;
        sendUnlessStopping("READY=1", "STATUS=" + statusText);
    }

    /** Listens to every app the master runs now (those added at run time too, at the next update). */
    private void hearNewApps() {
        for (Cluster cluster : master.clusters()) {
            if (!heard.add(cluster)) continue;
            cluster.addListener(event -> {
                status.onWorker(event);
                changed();
            });
            cluster.addOperationListener(event -> {
                status.onOperation(event);
                changed();
            });
        }
    }

    private synchronized void sendUnlessStopping(String... lines) {
        if (!stopping) systemd.send(lines);
    }

    /** {@code task}, with what it throws logged: an executor would keep it in a future nobody reads (and end a periodic task). */
    private static Runnable logged(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "telling systemd how the service is failed", e);
            }
        };
    }

    private void onNotificationThread(Runnable task, long delayMillis) {
        ScheduledExecutorService started = thread;
        if (started == null) return; // not started yet (a signal during the service's start): the start's own update says it all
        try {
            started.schedule(logged(task), delayMillis, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // the service is stopping: STOPPING=1 is the last word
        }
    }
}
