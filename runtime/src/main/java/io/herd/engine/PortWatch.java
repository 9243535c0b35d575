package io.herd.engine;

import io.herd.internal.PortOwnership;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Proxy dispatch: keeps each worker's loopback port the worker's own, from its launch until it
 * leaves, so that no client byte — a PROXY header included — is relayed to another local process.
 *
 * <p>herd finds each worker a free port, and any local process may bind it before the worker
 * does, or once the worker has closed it. A connect that succeeds proves that something listens
 * there, not what. So the port is checked:
 * <ul>
 * <li>while the worker launches ({@link #launched}): it is ready only once its port takes a
 *     connection and /proc says the listener is its own ({@link #onPortChecked});
 * <li>when a relayed connect fails ({@link #connectFailed}): a refusal proves nothing listens
 *     there any more, and the worker loses its port at once; a connect that timed out (a listener
 *     whose queue is full drops the SYN) has /proc say who holds the port, at most once a second;
 * <li>every sampling period (about 2 s) while it is online ({@link #sample}): the sockets it
 *     listened on when it became ready must still be open in its process; if not, /proc says who
 *     holds the port now. This is what finds a port that changed hands while no connect failed.
 * </ul>
 * A worker that lost its port gets nothing more relayed from that moment, on whichever thread
 * found it ({@link Worker#portLost}); then, on the event thread, it leaves rotation and is stopped
 * (SIGTERM, SIGKILL after kill.timeout) as an unexpected exit, so the restart policy starts another
 * on a new port.
 *
 * <p>Reading /proc runs on virtual threads, never on the cluster's event thread; what is found is
 * posted there, and only there are workers' states changed.
 *
 * <p>Cost of the periodic check, per online worker and period: its {@code /proc/<pid>/fd} listed,
 * with a {@code readlink} per descriptor until its listeners are found — opened early, they are
 * found after a few links, and listing the directory is most of the cost. Measured on the
 * development machine: 0.03 ms for a process with 10 descriptors open, 0.6 ms with 2,000. Only
 * when a listener is not found are all its links read (0.05 ms and 8 ms), then /proc/net/tcp*, as
 * at launch (12 ms there: the kernel writing the lines of some 630 sockets).
 */
final class PortWatch {
    private static final System.Logger LOG = System.getLogger(PortWatch.class.getName());
    /** How often a launching worker's port is tried. */
    private static final long PROBE_MILLIS = 100;
    /** Checks that found a launching worker's port held by another process before the worker is killed. */
    private static final int FOREIGN_CHECKS_BEFORE_KILL = 3;

    private final Cluster cluster;
    /**
     * False under net.ipv4.tcp_abort_on_overflow, where a worker whose accept queue is full
     * refuses connections too: then a refusal has /proc read, as a timed-out connect does.
     */
    private final boolean refusalProvesNobodyListens = PortOwnership.refusalProvesNobodyListens();
    /** Set while a periodic check runs, so a slow one is not joined by the next. */
    private final AtomicBoolean watching = new AtomicBoolean();

    PortWatch(Cluster cluster) {
        this.cluster = cluster;
    }

    // ---- launching -----------------------------------------------------------------------------

    /** A worker was launched: its port is tried until it is ready (event thread). */
    void launched(Worker worker) {
        cluster.later(() -> probe(worker), PROBE_MILLIS);
    }

    /**
     * A launching worker is ready once its port takes a connection and /proc says the listener is
     * its own ({@link #onPortChecked}). Tried off the event thread, again and again while it launches.
     */
    private void probe(Worker worker) {
        if (worker.state != WorkerState.LAUNCHING || !worker.process().isAlive()) return;
        offEventThread("probe", () -> {
            if (takesConnections(worker.proxyAddress())) checkPort(worker, true);
            else cluster.later(() -> probe(worker), PROBE_MILLIS);
        });
    }

    /** Whether something listens at the address: a connect, closed at once, without a byte either way. */
    private static boolean takesConnections(InetSocketAddress address) {
        try (SocketChannel probe = SocketChannel.open()) {
            probe.socket().connect(address, 1_000);
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    /** The worker called the SDK's ready() (event thread): its port must be its own first. */
    void readyCalled(Worker worker) {
        offEventThread("port-check", () -> checkPort(worker, false));
    }

    /** Reads who holds the worker's port (off the event thread: the tables can be large), then tells the event thread. */
    private void checkPort(Worker worker, boolean probing) {
        PortOwnership owners = PortOwnership.of(worker.proxyAddress(), worker.pid());
        cluster.post(() -> onPortChecked(worker, owners, probing));
    }

    /**
     * A launching worker's port took a connection (or the worker called the SDK's ready()), and
     * /proc says who holds the port.
     * <ul>
     * <li>The worker's own listener (its JVM's, or a descendant's): it is ready, and the check is
     *     kept for the periodic one to look for the same sockets.
     * <li>Another process's — one that bound the port between herd finding it free and the worker
     *     binding it: it is not ready, for every client byte and PROXY header relayed there would
     *     reach that process. Logged, and the port probed again {@value #PROBE_MILLIS} ms later; at
     *     the {@value #FOREIGN_CHECKS_BEFORE_KILL}rd such answer the worker is killed rather than
     *     left to its ready.timeout, and the restart policy starts another, on a new port (a
     *     reload's replacement fails the reload instead, as one that misses its ready.timeout does).
     *     A few answers, not one, so that a listener caught closing is not taken for a thief.
     * <li>Unknown (/proc/net/tcp unreadable: the master out of descriptors, a hardened /proc):
     *     not ready either, logged once, probed again until ready.timeout — herd's blindness is no
     *     proof against the worker.
     * <li>Nothing listening any more (it closed between the connect and the read): probed again.
     * </ul>
     *
     * @param probing true when a probe asked: the probe goes on unless the worker is ready;
     *                false for ready(), whose probe goes on by itself
     */
    private void onPortChecked(Worker worker, PortOwnership owners, boolean probing) {
        if (worker.state != WorkerState.LAUNCHING) return;
        PortOwnership previous = worker.lastPortCheck;
        worker.lastPortCheck = owners;
        switch (owners.verdict()) {
            case OWNED -> {
                worker.ownPort = owners;
                cluster.readiness().becomeOnline(worker);
                return;
            }
            case FOREIGN -> {
                int checks = ++worker.foreignPortChecks;
                String seen = owners.describe() + " (" + checks + " of " + FOREIGN_CHECKS_BEFORE_KILL + " checks)";
                if (checks >= FOREIGN_CHECKS_BEFORE_KILL) {
                    LOG.log(Level.WARNING, "{0} is not ready, and never will be: {1}; killing it (a restart gets a new port)", worker.name(), seen);
                    worker.online.completeExceptionally(new IllegalStateException("not ready: " + seen));
                    worker.process().destroyForcibly();
                    return;
                }
                LOG.log(Level.WARNING, "{0} is not ready: its port took a connection, but {1}; probing again", worker.name(), seen);
            }
            case UNREADABLE -> {
                if (previous == null || previous.verdict() != PortOwnership.Verdict.UNREADABLE) {
                    LOG.log(Level.WARNING, "{0} is not ready: its port took a connection, but {1}; probing again", worker.name(), owners.describe());
                }
            }
            case NOBODY_LISTENS -> LOG.log(Level.DEBUG, "{0}: {1} after all; probing again", worker.name(), owners.describe());
        }
        if (probing) cluster.later(() -> probe(worker), PROBE_MILLIS);
    }

    // ---- online: a relayed connect that failed -------------------------------------------------

    /**
     * A relayed connect to the worker's port failed (a relay thread). Refused — a
     * {@link ConnectException}, which the relay passes on only when it came back at once — means
     * nothing listens there any more: the app closed its listener, or died. From that moment the
     * worker loses its port, before another process can bind it and take the next connect. Any
     * other failure (timed out, the master out of descriptors) proves nothing: /proc is read, at
     * most once a second, and only another process holding the port loses it.
     */
    void connectFailed(Worker worker, IOException why) {
        if (!worker.accepting()) return; // out of rotation already: nothing more goes there
        if (why instanceof ConnectException && refusalProvesNobodyListens) {
            lost(worker, "refused a relayed connection: nothing listens on its port " + worker.proxyAddress().getPort() + " any more");
        } else if (worker.portCheckDue()) {
            offEventThread("port-check", () -> {
                PortOwnership owners = PortOwnership.of(worker.proxyAddress(), worker.pid());
                if (owners.verdict() == PortOwnership.Verdict.FOREIGN) {
                    lost(worker, "did not take a relayed connection (" + why.getMessage() + "), and " + owners.describe());
                } else {
                    LOG.log(Level.DEBUG, "{0} did not take a relayed connection ({1}): {2}", worker.name(), why.getMessage(), owners.describe());
                }
            });
        }
    }

    // ---- online: the periodic check ------------------------------------------------------------

    /**
     * Looks, off the event thread, at each online worker in rotation: does it still hold the
     * sockets it listened on when it became ready? (Called by the event thread every sampling
     * period; skipped while the previous look still runs.)
     */
    void sample(Collection<Worker> workers) {
        List<Worker> online = new ArrayList<>();
        List<PortOwnership> owned = new ArrayList<>();
        for (Worker worker : workers) {
            if (worker.state != WorkerState.ONLINE || worker.ownPort == null || !worker.accepting()) continue;
            online.add(worker);
            owned.add(worker.ownPort);
        }
        if (online.isEmpty() || !watching.compareAndSet(false, true)) return;
        offEventThread("port-watch", () -> {
            try {
                for (int i = 0; i < online.size(); i++) verify(online.get(i), owned.get(i));
            } finally {
                watching.set(false);
            }
        });
    }

    /**
     * Its sockets are gone: /proc says who holds the port now. The worker again (its app listens
     * anew): those sockets are looked for from now on. Another process, or none: the port is lost.
     * Unknown: it stays, logged once.
     */
    private void verify(Worker worker, PortOwnership owned) {
        if (!worker.process().isAlive() || owned.stillHeld(worker.pid())) return;
        PortOwnership now = PortOwnership.of(worker.proxyAddress(), worker.pid());
        switch (now.verdict()) {
            case OWNED -> cluster.post(() -> {
                if (worker.state != WorkerState.ONLINE || worker.ownPort != owned) return;
                worker.ownPort = now;
                LOG.log(Level.INFO, "{0} listens on its port {1} anew", worker.name(), Integer.toString(worker.proxyAddress().getPort()));
            });
            case FOREIGN, NOBODY_LISTENS -> lost(worker, "no longer holds the socket it listened on, and " + now.describe());
            case UNREADABLE -> cluster.post(() -> {
                if (worker.portUnreadableSaid) return;
                worker.portUnreadableSaid = true;
                LOG.log(Level.WARNING, "{0} no longer holds the socket it listened on, but {1}: it stays in rotation", worker.name(), now.describe());
            });
        }
    }

    // ---- lost ----------------------------------------------------------------------------------

    /** Nothing more is relayed to the worker from now on (any thread); the event thread takes it from there. */
    private void lost(Worker worker, String why) {
        if (worker.portLost()) cluster.post(() -> onPortLost(worker, why));
    }

    private void onPortLost(Worker worker, String why) {
        cluster.updateRotation();
        if (worker.state != WorkerState.ONLINE || !worker.process().isAlive()) return; // leaving already
        LOG.log(Level.WARNING, "{0} {1}: out of rotation; stopping it (a restart gets a new port)", worker.name(), why);
        cluster.retirement().stopNow(worker, false); // its state stays ONLINE: its exit is unexpected, and restarted
    }

    private void offEventThread(String what, Runnable task) {
        Thread.ofVirtual().name("herd-" + cluster.name() + "-" + what).start(cluster.fatalErrors().guarded(task));
    }
}
