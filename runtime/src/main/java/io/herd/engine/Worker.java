package io.herd.engine;

import io.herd.config.Settings;
import io.herd.ipc.IncompatiblePeerException;
import io.herd.ipc.IpcChannel;
import io.herd.ipc.IpcMessage;
import io.herd.ipc.Protocol;
import io.herd.internal.PortOwnership;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One worker JVM and its IPC channel.
 *
 * <p>Its state is changed only by its {@link Cluster}'s event thread. Its IPC reader is a
 * platform thread of its own: it takes acknowledgements and close reports as they come and
 * posts everything else (ready, gone) to the cluster.
 */
final class Worker {
    private static final System.Logger LOG = System.getLogger(Worker.class.getName());
    /** Handoffs a worker may have unacknowledged before the balancer passes it by. */
    static final int MAX_UNACKED = 256;

    final int instance;
    private final Cluster cluster;
    private final Process process;
    /** Proxy dispatch: the loopback address the worker's app listens on; null in handoff dispatch. */
    private final InetSocketAddress proxyAddress;
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final IpcChannel.Listener listener;
    private final ConcurrentHashMap<Long, Connection> pending = new ConcurrentHashMap<>();
    /** The ids and descriptors of the HANDOFFS being sent; guarded by this worker's lock. */
    private final long[] batchIds = new long[IpcMessage.MAX_BATCH];
    private final int[] batchFds = new int[IpcMessage.MAX_BATCH];
    private final AtomicLong handedOff = new AtomicLong();
    /** Health checks' connections it took: not clients', but the SDK reports their closes with the others. */
    private final AtomicLong healthChecksTaken = new AtomicLong();
    private final AtomicLong closed = new AtomicLong();
    private final long launchedNanos = System.nanoTime();
    /** The channel, once the worker connected: what {@link #exited()} wakes the reader through. */
    private volatile IpcChannel connected;
    /** The channel once the handshake agreed on a version; null before: nothing is sent to a worker until then. */
    private volatile IpcChannel ipc;
    /** The IPC version the handshake agreed on (set before {@link #ipc}); 0 before. */
    private volatile int ipcVersion;
    /** Why the master refused the worker's IPC channel (it speaks no version the master does); null when it did not. */
    private volatile String refusal;
    /** When the unanswered ping was sent; 0 when none is (set by the event thread, cleared by the reader). */
    private volatile long pingSentNanos;
    /** Set, under this worker's lock, when no handoff may be sent any more. */
    private boolean gone;
    /** Set, under this worker's lock, when the worker said it accepts no more connections. */
    private boolean refusing;
    /** Set, under this worker's lock, when its port is no longer its own (proxy dispatch). */
    private boolean lostPort;
    /**
     * Shared dispatch: set before its first listening socket is sent, so that an ACCEPTED from a
     * worker that never had one reads as the lie it is.
     */
    private volatile boolean listenerSent;

    /** Completes when the worker is ready (online, or a spare); fails when it exits or times out first. */
    final java.util.concurrent.CompletableFuture<Void> online = new java.util.concurrent.CompletableFuture<>();
    /** Completes with the exit code when its JVM has exited. */
    final java.util.concurrent.CompletableFuture<Integer> exit = new java.util.concurrent.CompletableFuture<>();

    // Event-thread state
    WorkerState state = WorkerState.LAUNCHING;
    /** Resident memory at the last sample, in bytes. */
    long rssBytes;
    /** CPU use between the last two samples, in percent of one core. */
    double cpuPercent;
    private io.herd.internal.ProcStats lastSample;
    private long lastSampleNanos;
    long onlineNanos;
    Integer exitCode;
    /** Proxy dispatch, while launching: checks that found its port held by another process. */
    int foreignPortChecks;
    /** Proxy dispatch, while launching: what the last check of who holds its port found; null before any. */
    PortOwnership lastPortCheck;
    /** Proxy dispatch: the check that last found its port its own; its listeners are looked for while it is online. */
    PortOwnership ownPort;
    /** Proxy dispatch: a periodic check that could not read /proc was logged already. */
    boolean portUnreadableSaid;
    /** Its JVM writes the app's AOT cache as it exits: asked to stop, it gets longer before it is killed. */
    boolean trainsAotCache;
    /** Shared dispatch: how many of the app's listening sockets it has been passed, in {@link Acceptor#listeners} order. */
    private int listenersPassed;
    /** Shared dispatch: a retry of a pass its full queue refused is scheduled: one at a time, whatever the other workers do. */
    private boolean listenerRetryDue;
    /**
     * Proxy dispatch: out of rotation, its relayed connections may finish before it is asked to
     * stop. Set by the event thread; read by the relay's threads, which with proxy.http close a
     * keep-alive connection after its next complete response.
     */
    volatile boolean draining;

    Worker(Cluster cluster, int instance, Process process, IpcChannel.Listener listener, InetSocketAddress proxyAddress) {
        this.cluster = cluster;
        this.instance = instance;
        this.process = process;
        this.listener = listener;
        this.proxyAddress = proxyAddress;
    }

    /** Where the master relays this worker's connections (proxy dispatch), else null. */
    InetSocketAddress proxyAddress() {
        return proxyAddress;
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    String name() {
        return cluster.name() + "#" + instance + " (pid " + process.pid() + ")";
    }

    /**
     * Why the master refused this worker's channel: its SDK speaks no IPC version the master
     * does, which no restart mends. Null when it was not refused.
     */
    String refusal() {
        return refusal;
    }

    /** True once the worker's JVM has connected to its IPC channel. */
    boolean connectedToIpc() {
        return connected != null;
    }

    /** True once the worker's HELLO has been answered: from then on its channel carries work. */
    boolean saidHello() {
        return ipc != null;
    }

    /** Starts the thread that waits for the JVM to connect, then reads its messages. */
    void startReader(Duration connectTimeout) {
        Thread reader = new Thread(cluster.fatalErrors().guarded(() -> readLoop(connectTimeout)), "herd-" + cluster.name() + "-" + instance + "-ipc");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Passes the connection to this worker without blocking.
     *
     * @return true when this worker now has it (or, having failed, already gave it to another);
     *         false when the caller must try another worker
     */
    boolean handOff(Connection connection) {
        return handOff(List.of(connection), 0, 1) == 1;
    }

    /**
     * Passes {@code chunk[from, to)} to this worker without blocking, as much of it as the worker
     * can take: when its SDK speaks IPC 3, up to {@link IpcMessage#MAX_BATCH} in one HANDOFFS
     * message, else one HANDOFF each. Each is in {@link #pending} before its message is sent and
     * stays there until the worker acknowledges it: a worker that dies with a batch unacknowledged
     * loses none of it, for the rest goes to other workers once it can read no more.
     *
     * <p>All under this worker's lock, which the reader also takes to remove what the worker
     * acknowledges or refuses: no message of the worker's can take a connection out of pending
     * (and close the master's copy, whose descriptor number the kernel may then give to any
     * other file) between its put and its sendmsg, nor between a failed send and its taking back.
     *
     * @return how many it took, from {@code from} on; the caller keeps the rest and must try
     *         another worker (in proxy dispatch, a relay that fails later places it itself)
     */
    int handOff(List<Connection> chunk, int from, int to) {
        if (proxyAddress != null) return relay(chunk, from, to);
        int taken = 0;
        synchronized (this) {
            if (gone || refusing || ipc == null) return 0;
            int end = Math.min(to, from + MAX_UNACKED - pending.size());
            while (from + taken < end) {
                int carried = sendHandoffs(chunk, from + taken, end);
                if (carried == 0) break; // not sent: the rest is the caller's again
                taken += carried;
            }
        }
        return taken;
    }

    /**
     * Sends one message with the first connections of {@code chunk[from, end)}: as many as one
     * HANDOFFS carries when the channel speaks IPC 3 (all of one family), else one.
     *
     * @return how many it carried; 0 when it was not sent (the worker's queue is full, or its
     *         channel broke), and they are out of {@link #pending} again, the caller's
     */
    private int sendHandoffs(List<Connection> chunk, int from, int end) {
        int family = chunk.get(from).family;
        int maxBatch = ipcVersion >= IpcMessage.Type.HANDOFFS.version() ? IpcMessage.MAX_BATCH : 1;
        int count = 0;
        do {
            Connection connection = chunk.get(from + count);
            pending.put(connection.id, connection);
            batchIds[count] = connection.id;
            batchFds[count++] = connection.fd;
        } while (count < maxBatch && from + count < end && chunk.get(from + count).family == family);
        try {
            if (ipc.sendHandoffs(batchIds, batchFds, count, family, true)) {
                if (count > 1 && LOG.isLoggable(Level.DEBUG)) LOG.log(Level.DEBUG, "{0} connections to {1} in one HANDOFFS", count, name());
                return count;
            }
        } catch (IOException broken) {
            LOG.log(Level.DEBUG, "handoff to {0} failed: {1}", name(), broken);
        }
        for (int i = 0; i < count; i++) pending.remove(batchIds[i]);
        return 0;
    }

    /** Proxy dispatch: relays the connections one by one, while the worker accepts. */
    private int relay(List<Connection> chunk, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!accepting()) return i - from;
            handedOff.incrementAndGet(); // counted now, so least-connections sees it at once
            cluster.relay(chunk.get(i), this);
        }
        return to - from;
    }

    // ---- proxy dispatch: called by the relay's threads ----

    /**
     * The worker's port did not take a relayed connection: it is not counted here, and goes to
     * another worker — a few times at most: when no port takes it (the master is out of
     * descriptors, or the app never listens), it is closed rather than passed around for ever.
     * Why the connect failed is told to the cluster's {@link PortWatch} first, so that a port
     * found lost gets nothing more, not even this connection.
     *
     * @param why why the connect failed; null when none was tried (the worker had stopped accepting)
     */
    void relayNotTaken(Connection connection, IOException why) {
        if (why != null) cluster.portWatch().connectFailed(this, why);
        handedOff.decrementAndGet();
        if (++connection.refusals >= MAX_REFUSALS) cluster.dispatcher().giveUp(connection, "no worker's port took it");
        else cluster.dispatcher().redispatch(connection, this);
    }

    private static final int MAX_REFUSALS = 3;

    /** When a refused relay may next have the port's holder read from /proc (System.nanoTime). */
    private final AtomicLong nextPortCheckNanos = new AtomicLong(System.nanoTime());
    private static final long PORT_CHECK_INTERVAL_NANOS = 1_000_000_000L;

    /** True at most once a second, so a burst of failed relays reads /proc once, not once each. */
    boolean portCheckDue() {
        long now = System.nanoTime();
        long next = nextPortCheckNanos.get();
        return now - next >= 0 && nextPortCheckNanos.compareAndSet(next, now + PORT_CHECK_INTERVAL_NANOS);
    }

    /**
     * Its port is no longer its own: from now on nothing is relayed to it (any thread).
     *
     * @return true the first time, false when it was lost already
     */
    synchronized boolean portLost() {
        if (lostPort) return false;
        lostPort = true;
        return true;
    }

    void relayEnded() {
        closed.incrementAndGet();
    }

    void relayed(boolean toWorker, int bytes) {
        (toWorker ? bytesIn : bytesOut).add(bytes);
    }

    /** Bytes relayed from clients to this worker (proxy dispatch). */
    long bytesIn() {
        return bytesIn.sum();
    }

    /** Bytes relayed from this worker to its clients (proxy dispatch). */
    long bytesOut() {
        return bytesOut.sum();
    }

    /**
     * Connections this worker acknowledged (in proxy dispatch: was relayed) and has not yet
     * closed, a health check's among them while it is open.
     */
    long openConnections() {
        return handedOff.get() + healthChecksTaken.get() - closed.get();
    }

    /** Clients' connections handed (or relayed) to it, in all; health checks' are not counted. */
    long handedOff() {
        return handedOff.get();
    }

    int unacknowledged() {
        return pending.size();
    }

    /**
     * Health checks' connections handed to it that it has neither acknowledged nor refused (any
     * thread). A worker that takes no connection would otherwise collect one per check, each
     * holding a descriptor of the master's and a slot of {@link #MAX_UNACKED} that clients need.
     */
    long unacknowledgedHealthChecks() {
        return pending.values().stream().filter(connection -> connection.healthCheck).count();
    }

    /**
     * Pings the worker over IPC, unless a ping is still unanswered (event thread). A ping that
     * cannot even be sent — the channel is full because the worker does not read it — counts
     * as sent and unanswered.
     */
    void ping() {
        IpcChannel channel = ipc;
        if (channel == null || pingSentNanos != 0) return;
        pingSentNanos = System.nanoTime();
        try {
            channel.send(IpcMessage.of(IpcMessage.Type.PING), true);
        } catch (IOException gone) {
            // the reader sees the channel end and reports it
        }
    }

    /** How long its oldest unanswered ping has waited; 0 when none waits. */
    long unansweredPingMillis() {
        long sent = pingSentNanos;
        return sent == 0 ? 0 : (System.nanoTime() - sent) / 1_000_000;
    }

    /** Time since it became ready, or since launch while it is launching. */
    long uptimeMillis() {
        return (System.nanoTime() - (onlineNanos != 0 ? onlineNanos : launchedNanos)) / 1_000_000;
    }

    /** Reads its CPU time and memory from /proc (event thread). */
    void sample() {
        io.herd.internal.ProcStats now = io.herd.internal.ProcStats.of(process.pid());
        long nanos = System.nanoTime();
        if (now == null) return;
        if (lastSample != null && nanos > lastSampleNanos) {
            cpuPercent = 100.0 * (now.cpuNanos() - lastSample.cpuNanos()) / (nanos - lastSampleNanos);
        }
        rssBytes = now.rssBytes();
        lastSample = now;
        lastSampleNanos = nanos;
    }

    /** CPU time its JVM has used in all, as of the last sample, in seconds; 0 before the first sample. */
    double cpuSeconds() {
        return lastSample == null ? 0 : lastSample.cpuNanos() / 1e9;
    }

    /** How long its start took, from launch to ready; 0 while it has not been ready. */
    long startMillis() {
        return onlineNanos == 0 ? 0 : (onlineNanos - launchedNanos) / 1_000_000;
    }

    /** Time since its JVM was started. */
    long aliveMillis() {
        return (System.nanoTime() - launchedNanos) / 1_000_000;
    }

    /**
     * Asks the worker over IPC to finish its work and exit (the SDK's shutdown callback). Never
     * blocks the caller: while the worker's queue is full the request is retried in the
     * background, and a worker without a channel gets SIGTERM instead.
     */
    void requestShutdown() {
        IpcChannel channel = ipc;
        try {
            if (channel == null) {
                process.destroy();
            } else if (!channel.send(IpcMessage.of(IpcMessage.Type.SHUTDOWN), true) && process.isAlive()) {
                cluster.later(this::requestShutdown, 20);
            }
        } catch (IOException gone) {
            process.destroy();
        }
    }

    /**
     * Shared dispatch: passes the app's listening sockets to the worker, once each, as it enters
     * the rotation (event thread): from then on it accepts from them itself, until it closes
     * them (a stop, a drain) or dies; a passed descriptor cannot be taken back. Never blocks:
     * while the worker's queue is full, the cluster tries again a little later, as long as the
     * worker is still in rotation.
     */
    void startAccepting(List<Acceptor.SharedSocket> sockets) {
        IpcChannel channel = ipc;
        if (channel == null) return;
        while (listenersPassed < sockets.size()) {
            listenerSent = true; // before it goes: the worker may report its first accepts at once
            try {
                if (!sockets.get(listenersPassed).passTo(channel, true)) {
                    listenerSent = listenersPassed > 0; // not sent: an ACCEPTED now is still a lie
                    retryStartAccepting();
                    return;
                }
            } catch (IOException e) {
                // Its channel broke (the reader stops it), or the app's socket is closed (it is going).
                LOG.log(Level.DEBUG, "{0}: listening socket not passed: {1}", name(), e.toString());
                return;
            }
            listenersPassed++;
        }
    }

    private void retryStartAccepting() {
        if (listenerRetryDue) return;
        listenerRetryDue = true;
        cluster.later(() -> {
            listenerRetryDue = false;
            cluster.updateRotation(); // passes it on only if it is still in rotation
        }, 20);
    }

    private void readLoop(Duration connectTimeout) {
        IpcChannel channel;
        try {
            channel = IpcChannel.acceptFrom(listener, process.pid(), (int) connectTimeout.toMillis(), process::isAlive);
            connected = channel;
        } catch (IOException e) {
            if (proxyAddress != null && process.isAlive()) {
                // Proxy dispatch: an app without the SDK never connects, and needs no channel.
                LOG.log(Level.DEBUG, "{0} does not use herd's SDK: no IPC channel", name());
                return;
            }
            // Killed at its ready timeout (which said why), or exited: nothing more to report.
            Level level = process.isAlive() ? Level.WARNING : Level.DEBUG;
            LOG.log(level, "{0} never opened its IPC channel (an app without herd-sdk needs dispatch = proxy): {1}", name(), e.getMessage());
            cluster.post(() -> cluster.onChannelGone(this));
            return;
        }
        try (IpcChannel.Reader reader = channel.reader(IpcMessage.Sender.WORKER)) {
            handshake(channel, reader);
            ipc = channel;
            while (true) {
                IpcMessage message = reader.read();
                switch (message.type()) {
                    case ACK -> acknowledged(message.id());
                    case PONG -> pingSentNanos = 0;
                    case NACK -> refused(message.id());
                    case CLOSED -> closedReported(message.count());
                    case READY -> cluster.post(() -> cluster.onReady(this));
                    case STOPPING -> stoppedAccepting();
                    case ACKS -> acknowledged(message.ids());
                    case ACCEPTED -> acceptedReported(message.count());
                    // The reader already refuses what only the master sends: this is for a type added without a case here.
                    default -> throw new ProtocolException("a worker may not send " + message.type());
                }
            }
        } catch (EOFException normal) {
            LOG.log(Level.DEBUG, "{0} closed its IPC channel", name());
        } catch (IncompatiblePeerException refused) {
            // Its refusal is the reason the cluster gives, and logs, once the worker's JVM has exited.
            LOG.log(Level.DEBUG, "{0}: IPC channel refused", name());
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "{0}: IPC channel failed, stopping the worker: {1}", name(), e.toString());
            process.destroyForcibly();
        } finally {
            // What it had not acknowledged goes to other workers, but only once it cannot read
            // any of it any more: a worker that is still alive could yet serve a connection.
            if (!pending.isEmpty()) awaitDeath();
            goneNow();
            cluster.post(() -> cluster.onChannelGone(this));
        }
    }

    /**
     * Reads the worker's HELLO, which comes before anything else, and answers with the master's
     * (the ready timeout covers a worker that never says it). A worker that said HELLO hears the
     * master's even when refused, so that its own output says why too; one that said anything
     * else first speaks IPC 1, and would take a HELLO for a broken channel.
     *
     * @throws IncompatiblePeerException when the worker speaks no version this master does;
     *                                   {@link #refusal()} says why from then on
     */
    private void handshake(IpcChannel channel, IpcChannel.Reader reader) throws IOException {
        IpcMessage first = reader.read();
        try {
            // Before the HELLO goes out: the worker may send its version's types as soon as it reads it.
            ipcVersion = Protocol.agreeWithWorker(first);
            reader.agreed(ipcVersion);
            refuseUnlessItCanShare(first, ipcVersion);
        } catch (IncompatiblePeerException refused) {
            refusal = refused.getMessage(); // before the worker can hear of it and exit
            if (first.type() == IpcMessage.Type.HELLO) {
                try {
                    channel.send(Protocol.hello(), false);
                } catch (IOException alreadyGone) {
                    // it is refused either way
                }
            }
            throw refused;
        }
        channel.send(Protocol.hello(), false);
    }

    /**
     * Shared dispatch needs LISTENER and ACCEPTED: an older SDK would wait for handoffs that never
     * come, and serve nothing without a word. It is refused as one speaking no version at all is:
     * errored, with one line saying what to do, and not restarted.
     */
    private void refuseUnlessItCanShare(IpcMessage hello, int agreed) throws IncompatiblePeerException {
        int needed = IpcMessage.Type.LISTENER.version();
        if (!cluster.config().shared() || agreed >= needed) return;
        throw new IncompatiblePeerException("refused: " + Settings.DISPATCH.key(cluster.name()) + " = shared needs herd-sdk speaking IPC "
                + needed + " (herd-sdk " + Protocol.HERD_VERSION + "); this worker's herd-sdk " + hello.text() + " speaks IPC " + agreed
                + ": rebuild the app, or use dispatch = handoff");
    }

    private void awaitDeath() {
        process.destroyForcibly();
        try {
            process.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.log(Level.ERROR, "{0} survived SIGKILL for 30 s; handing its pending connections on regardless", name());
        }
    }

    /**
     * Counts connections the worker reports closed. It can only report connections it was
     * handed and acknowledged, and only once each: any other count (the reader already refuses
     * one below 1) would corrupt the open-connection figure least-connections balances on, so it
     * is a protocol error (the worker is stopped). In proxy dispatch the relay sees every close
     * itself: no report is due.
     */
    private void closedReported(int count) throws ProtocolException {
        long open = proxyAddress == null ? openConnections() : 0;
        if (count <= 0 || count > open) {
            throw new ProtocolException("CLOSED counts " + count + " connections, not 1 to the " + open + " it holds");
        }
        closed.addAndGet(count);
    }

    /**
     * Shared dispatch: the worker accepted {@code count} connections from the listening sockets it
     * was passed. Counted as handed off, so its open connections (and the CLOSED reports checked
     * against them) stay right; from a worker that was never passed one, it is a protocol error.
     */
    private void acceptedReported(int count) throws ProtocolException {
        if (!listenerSent) throw new ProtocolException("ACCEPTED counts " + count + " connections, but it was passed no listening socket");
        handedOff.addAndGet(count);
        cluster.dispatcher().countAccepted(count);
    }

    /**
     * The worker holds these connections now (an ACK names one, an ACKS several): the master's
     * copies close. Only connections it was sent and has neither acknowledged nor refused may be
     * named: any other id (never sent to it, another worker's, named twice) is a lie, and a
     * protocol error (the worker is stopped) once the ones it did hold are counted.
     */
    private void acknowledged(long... ids) throws ProtocolException {
        Connection[] taken = new Connection[ids.length];
        synchronized (this) { // not while handOff sends: see there
            for (int i = 0; i < ids.length; i++) taken[i] = pending.remove(ids[i]);
        }
        Long lie = null;
        for (int i = 0; i < ids.length; i++) {
            Connection connection = taken[i];
            if (connection == null) {
                lie = ids[i];
                continue;
            }
            (connection.healthCheck ? healthChecksTaken : handedOff).incrementAndGet();
            connection.closeMasterCopy();
        }
        cluster.dispatcher().capacityFreed();
        if (lie != null) throw notGiven("acknowledges", lie);
    }

    private void refused(long id) throws ProtocolException {
        Connection connection;
        synchronized (this) { // not while handOff sends: see there
            connection = pending.remove(id);
        }
        if (connection == null) throw notGiven("refuses", id);
        notTaken(connection);
    }

    private static ProtocolException notGiven(String what, long id) {
        return new ProtocolException("it " + what + " connection " + id + ", which it does not hold unacknowledged: never sent to it, or named before");
    }

    /**
     * A connection this worker will never serve goes to another worker; a health check's is
     * closed instead (it checks this worker only), which its prober reads as an end of stream.
     */
    private void notTaken(Connection connection) {
        if (connection.healthCheck) connection.closeMasterCopy();
        else cluster.dispatcher().redispatch(connection, this);
    }

    /** No more handoffs; the ones in flight go back to the cluster for another worker. */
    private void goneNow() {
        synchronized (this) {
            gone = true;
        }
        for (Long id : pending.keySet()) {
            Connection connection = pending.remove(id);
            if (connection != null) notTaken(connection);
        }
    }

    /**
     * Called when the JVM has exited. The reader still reads what the worker sent before it died
     * (acknowledgements included), then sees the end of the channel and hands on the rest.
     */
    void exited() {
        IpcChannel channel = connected;
        if (channel != null) channel.shutdown();
    }

    /** False once the worker said it takes no more connections, its channel is gone, or its port was lost. */
    synchronized boolean accepting() {
        return !gone && !refusing && !lostPort;
    }

    private void stoppedAccepting() {
        synchronized (this) {
            refusing = true;
        }
        cluster.post(() -> cluster.onStoppedAccepting(this));
    }
}
