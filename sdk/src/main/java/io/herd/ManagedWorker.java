package io.herd;

import io.herd.ipc.IncompatiblePeerException;
import io.herd.ipc.IpcChannel;
import io.herd.ipc.IpcMessage;
import io.herd.ipc.JdkSockets;
import io.herd.ipc.Protocol;
import io.herd.ipc.Unix;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The SDK inside a herd worker: connections arrive over the IPC channel from the master.
 *
 * <p>One platform thread reads the channel and queues each handed-off connection. The worker
 * acknowledges a connection only when the app takes it in {@link #accept()}: until then the
 * master keeps its own copy and stays responsible for it, so connections still queued when the
 * worker stops (or dies) are handed to another worker, never lost. A second, mostly sleeping
 * thread tells the master how many connections the app has closed since, which is how the master
 * knows each worker's open connections.
 *
 * <p>In shared dispatch the master passes the app's listening socket itself, once, and the worker
 * accepts from it: a {@link SharedListener} thread does, when the app asks for a connection, and
 * queues it with the handed-off ones (health checks still come that way). Nobody else holds such
 * a connection, so there is nothing to acknowledge; the reporter thread tells the master how many
 * the app took (ACCEPTED) before it reports any of them closed.
 *
 * <p>When the channel ends, the master is gone and nobody will ever send work or a stop again:
 * the worker exits by itself, so a killed master leaves no orphan JVMs. So does a worker whose
 * master speaks no IPC version this SDK does (see {@link Protocol}): it says why in one line on
 * stderr and exits with status 1, before the app gets a worker that could not work.
 *
 * <p>What runs before the app says it is ready is on every restart's path, so it is kept lean:
 * no lambda, method reference or string concatenation (each spins a class the first time), no
 * logger, and no native call linked that a worker does not need yet (SdkHandshakeTest checks
 * the JVM's class-loading log for these).
 */
final class ManagedWorker extends HerdWorker {
    /** How often, roughly, closed connections are reported; jittered so workers do not beat together. */
    private static final long CLOSE_REPORT_MILLIS = 200;
    /** How long shutdown hooks may run after the master is gone, before the JVM halts. */
    private static final long ORPHAN_EXIT_MILLIS = 1000;

    private record Handoff(long id, SocketChannel channel) {
    }

    /**
     * The id of a connection a {@link SharedListener} accepted: the master never hands one out
     * (its clients' ids count up from 1, its health checks' down from -1), and none is acked.
     */
    private static final long ACCEPTED_HERE = Long.MIN_VALUE;

    private final String app;
    private final int instance;
    private final IpcChannel ipc;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition handedOff = lock.newCondition();
    private final ArrayDeque<Handoff> queued = new ArrayDeque<>(); // guarded by lock
    private boolean closed; // guarded by lock
    /** App threads waiting in accept(): while more wait than connections are queued, the shared listeners accept. Guarded by lock. */
    private int waiting;
    /** Signalled when an app thread waits for a connection none queued can give it, and at close. */
    private final Condition demand = lock.newCondition();
    /** Shared dispatch: the listening sockets the master passed. Guarded by lock. */
    private final List<SharedListener> listeners = new ArrayList<>();
    /**
     * Shared dispatch: listener threads not ended yet. A closed worker's accept() waits for them:
     * one may still return a connection the kernel gave it as its socket closed, and that
     * connection is this worker's alone, so the app must get it. Guarded by lock.
     */
    private int accepting;
    /** Connections the app took and the master was told of (acked, or reported accepted); the reporter sees them close. */
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    /** Shared dispatch: connections the app took that the master has not been told of yet; the reporter moves them into {@link #open}. */
    private final Set<SocketChannel> newlyAccepted = ConcurrentHashMap.newKeySet();
    private final Acknowledgements acknowledgements = new Acknowledgements(new AckSender());
    private final AtomicBoolean readySent = new AtomicBoolean();
    private final AtomicBoolean shutdownStarted = new AtomicBoolean();
    /** Counted down when the drain the master's message started is over. */
    private final java.util.concurrent.CountDownLatch drained = new java.util.concurrent.CountDownLatch(1);
    private volatile Runnable drain;

    ManagedWorker(Path ipcPath, String app, int instance) throws IOException {
        JdkSockets.checkOpened(); // the rest of the check is the reader thread's, before its first read
        this.app = app;
        this.instance = instance;
        this.ipc = IpcChannel.connect(ipcPath);
        IpcChannel.Reader channelReader = ipc.reader(IpcMessage.Sender.MASTER);
        handshake(channelReader);
        // The threads' tasks are classes, not lambdas: the first lambda a JVM meets costs it
        // milliseconds of spinning, and this runs before the worker is ready.
        Thread reader = new Thread(new ReadLoop(channelReader), "herd-ipc");
        reader.setDaemon(true);
        reader.start();
        Thread reporter = new Thread(new ReportClosedLoop(), "herd-ipc-closes");
        reporter.setDaemon(true);
        reporter.start();
        Runtime.getRuntime().addShutdownHook(new Thread(new ShutdownHook(), "herd-shutdown-hook"));
    }

    /** The reader thread's task: {@link #readLoop}. */
    private final class ReadLoop implements Runnable {
        private final IpcChannel.Reader reader;

        ReadLoop(IpcChannel.Reader reader) {
            this.reader = reader;
        }

        @Override
        public void run() {
            readLoop(reader);
        }
    }

    /** The reporter thread's task: {@link #reportClosedLoop}. */
    private final class ReportClosedLoop implements Runnable {
        @Override
        public void run() {
            reportClosedLoop();
        }
    }

    /**
     * SIGTERM (a reload, or a stop whose message could not be sent) drains like the message does.
     * Had the message come first, the hook waits for that drain: the JVM halts once its hooks are
     * done, whatever other threads are still running.
     */
    private final class ShutdownHook implements Runnable {
        @Override
        public void run() {
            if (shutdownStarted.compareAndSet(false, true)) {
                close();
                Runnable drain = ManagedWorker.this.drain;
                if (drain != null) drain.run();
            } else {
                try {
                    drained.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Override
    public SocketChannel accept() throws IOException {
        Handoff next;
        lock.lock();
        try {
            waiting++;
            try {
                if (waiting > queued.size() && !listeners.isEmpty()) demand.signalAll();
                while (queued.isEmpty() && (!closed || accepting > 0)) handedOff.await();
            } finally {
                waiting--;
            }
            if (queued.isEmpty()) throw new ClosedChannelException();
            next = queued.pollFirst();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.nio.channels.ClosedByInterruptException();
        } finally {
            lock.unlock();
        }
        if (next.id() == ACCEPTED_HERE) {
            newlyAccepted.add(next.channel()); // the reporter tells the master
            return next.channel();
        }
        open.add(next.channel());
        try {
            acknowledgements.acknowledge(next.id()); // before the app has it, never ahead
        } catch (IOException masterGone) {
            // The connection is ours alone now; serve it while the worker winds down.
        }
        return next.channel();
    }

    /** How the worker's {@link Acknowledgements} go to the master: in one ACKS when the channel has them, else an ACK each. */
    private final class AckSender implements Acknowledgements.Sender {
        @Override
        public void send(long[] ids, int count) throws IOException {
            if (ipc.agreedVersion() >= IpcMessage.Type.ACKS.version()) {
                ipc.sendAcks(ids, count);
            } else {
                for (int i = 0; i < count; i++) ipc.send(IpcMessage.of(IpcMessage.Type.ACK, ids[i]), false);
            }
        }
    }

    @Override
    public void ready() throws IOException {
        if (readySent.compareAndSet(false, true)) ipc.send(IpcMessage.of(IpcMessage.Type.READY), false);
    }

    @Override
    public void onShutdown(Runnable drain) {
        this.drain = drain;
    }

    @Override
    public boolean isManaged() {
        return true;
    }

    @Override
    public String app() {
        return app;
    }

    @Override
    public int instance() {
        return instance;
    }

    /**
     * Stops accepting: the master takes this worker out of rotation, and the connections queued
     * here that the app has not taken are given back to it for another worker. In shared
     * dispatch it closes its copies of the listening sockets first: connections still in their
     * queue wait there for the other workers. The few its listeners had accepted already are
     * this worker's alone: accept() still returns them, before it throws.
     */
    @Override
    public void close() {
        List<Handoff> giveBack = new ArrayList<>();
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            for (java.util.Iterator<Handoff> it = queued.iterator(); it.hasNext(); ) {
                Handoff handoff = it.next();
                if (handoff.id() != ACCEPTED_HERE) {
                    giveBack.add(handoff);
                    it.remove();
                }
            }
            handedOff.signalAll();
            demand.signalAll();
        } finally {
            lock.unlock();
        }
        stopSharedAccepting();
        try {
            ipc.send(IpcMessage.of(IpcMessage.Type.STOPPING), false);
            for (Handoff handoff : giveBack) refuse(handoff.id(), handoff.channel());
        } catch (IOException masterGone) {
            for (Handoff handoff : giveBack) closeQuietly(handoff.channel());
        }
    }

    /**
     * Says HELLO and waits for the master's, on the app's thread, so that nothing else is sent
     * before both sides know which version they speak. Exits the JVM when they speak none.
     */
    private void handshake(IpcChannel.Reader reader) {
        try {
            ipc.send(Protocol.hello(), false);
            reader.agreed(Protocol.agreeWithMaster(reader.read()));
        } catch (IncompatiblePeerException e) {
            exitNow(e.getMessage());
        } catch (EOFException e) {
            exitNow("the herd master closed the IPC channel before answering this herd-sdk " + Protocol.HERD_VERSION
                    + "'s HELLO (a herd from before the IPC handshake does that; the master's log says why)");
        } catch (IOException | RuntimeException e) {
            exitNow("the IPC handshake with the herd master failed: " + e);
        }
    }

    private void readLoop(IpcChannel.Reader channelReader) {
        try {
            JdkSockets.check(); // makes its method handles, which every handoff needs
        } catch (IllegalStateException e) {
            exitOrphaned(e.getMessage());
            return;
        }
        try (IpcChannel.Reader reader = channelReader) {
            while (true) {
                IpcMessage message = reader.read();
                switch (message.type()) {
                    case HANDOFF -> take(message.id(), message.fd(), message.family());
                    case SHUTDOWN -> shutdown();
                    case PING -> ipc.send(IpcMessage.of(IpcMessage.Type.PONG), false);
                    case HANDOFFS -> takeAll(message);
                    case LISTENER -> listen(message);
                    default -> throw new java.net.ProtocolException("unexpected " + message.type() + " from the master");
                }
            }
        } catch (EOFException masterGone) {
            stopSharedAccepting();
            exitOrphaned("the herd master closed the IPC channel");
        } catch (IOException | RuntimeException e) {
            stopSharedAccepting();
            exitOrphaned("the IPC channel to the herd master broke: " + e);
        }
    }

    /**
     * Closes this worker's copies of the shared listening sockets: at {@link #close()}, and as
     * the worker exits without its master (a new master may then bind the port at once, which it
     * cannot while another process still listens on it).
     */
    private void stopSharedAccepting() {
        List<SharedListener> stopAccepting;
        lock.lock();
        try {
            stopAccepting = new ArrayList<>(listeners);
        } finally {
            lock.unlock();
        }
        for (SharedListener listener : stopAccepting) listener.close();
    }

    /** A HANDOFFS: its connections are queued (or refused) one by one, in the order the master sent them. */
    private void takeAll(IpcMessage handoffs) throws IOException {
        long[] ids = handoffs.ids();
        int[] fds = handoffs.fds();
        for (int i = 0; i < ids.length; i++) take(ids[i], fds[i], handoffs.family());
    }

    private void take(long id, int fd, int family) throws IOException {
        SocketChannel channel;
        try {
            channel = JdkSockets.channelOf(fd, family);
        } catch (IOException | RuntimeException clientAlreadyGone) {
            // getpeername fails when the client hung up while the connection was in flight.
            Unix.close(fd);
            ipc.send(IpcMessage.of(IpcMessage.Type.ACK, id), false);
            ipc.send(IpcMessage.closed(1), false);
            return;
        }
        lock.lock();
        try {
            if (!closed) {
                queued.addLast(new Handoff(id, channel));
                handedOff.signal();
                return;
            }
        } finally {
            lock.unlock();
        }
        refuse(id, channel);
    }

    /**
     * Shared dispatch: accepts from the listening socket the master passed, from now on, as the
     * app asks for connections; a worker already closed closes it at once.
     */
    private void listen(IpcMessage message) throws IOException {
        SharedListener listener = SharedListener.of(message.fd(), message.family(), new AppDemand());
        lock.lock();
        try {
            if (!closed) {
                listeners.add(listener);
                accepting++;
                listener.start();
                return;
            }
        } finally {
            lock.unlock();
        }
        listener.close();
    }

    /** What the shared listeners' threads wait for, and where they put what they accept. */
    private final class AppDemand implements SharedListener.Demand {
        @Override
        public boolean await() throws InterruptedException {
            lock.lock();
            try {
                while (!closed && waiting <= queued.size()) demand.await();
                return !closed;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void accepted(SocketChannel connection) {
            lock.lock();
            try {
                // Queued even when the worker closed meanwhile: it is ours alone now, and accept() still returns it.
                queued.addLast(new Handoff(ACCEPTED_HERE, connection));
                handedOff.signal();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void ended(String failure) {
            boolean open;
            lock.lock();
            try {
                accepting--;
                open = !closed;
                handedOff.signalAll(); // a closed worker's accept() may now throw
            } finally {
                lock.unlock();
            }
            // A worker that cannot accept any more must not stay in rotation answering health
            // checks: it exits, and the master restarts it with a fresh copy of the socket.
            if (failure != null && open) exitNow("shared dispatch: " + failure);
        }
    }

    /** Gives a connection back unserved: the master still holds it and hands it to another worker. */
    private void refuse(long id, SocketChannel channel) throws IOException {
        closeQuietly(channel);
        ipc.send(IpcMessage.of(IpcMessage.Type.NACK, id), false);
    }

    private void shutdown() {
        if (!shutdownStarted.compareAndSet(false, true)) return;
        Runnable drain = this.drain;
        Thread stopper = new Thread(() -> {
            try {
                close();
                if (drain != null) drain.run();
            } finally {
                drained.countDown();
                System.exit(0);
            }
        }, "herd-shutdown");
        // Not a daemon (the reader that starts it is one), and started before accept() ends:
        // the app's main thread may well return once accept() stops, and the JVM must live on
        // until the drain is done.
        stopper.setDaemon(false);
        stopper.start();
    }

    private void reportClosedLoop() {
        try {
            while (true) {
                Thread.sleep(CLOSE_REPORT_MILLIS / 2 + ThreadLocalRandom.current().nextLong(CLOSE_REPORT_MILLIS));
                // Accepts first, and only then are those connections looked at for closes: the master
                // takes a close of a connection it never heard of for a lie, and stops the worker.
                int acceptedSince = 0;
                for (SocketChannel channel : newlyAccepted) {
                    if (newlyAccepted.remove(channel)) {
                        open.add(channel);
                        acceptedSince++;
                    }
                }
                if (acceptedSince > 0) ipc.sendAccepted(acceptedSince);
                int closedSince = 0;
                for (SocketChannel channel : open) {
                    if (!channel.isOpen() && open.remove(channel)) closedSince++;
                }
                if (closedSince > 0) ipc.send(IpcMessage.closed(closedSince), false);
            }
        } catch (InterruptedException | IOException e) {
            // The channel is gone: the reader thread is taking the JVM down.
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // the descriptor is released either way
        }
    }

    private static void exitOrphaned(String why) {
        System.err.println("herd worker: " + why + "; exiting");
        haltSoon();
        new Thread(() -> System.exit(1), "herd-orphan-exit").start();
    }

    /** Exits from the app's own thread, which never returns to the app. */
    private static void exitNow(String why) {
        System.err.println("herd worker: " + why + "; exiting");
        haltSoon();
        System.exit(1);
    }

    /** Halts the JVM after {@link #ORPHAN_EXIT_MILLIS}, should the app's shutdown hooks hang. */
    private static void haltSoon() {
        Thread halter = new Thread(() -> {
            try {
                Thread.sleep(ORPHAN_EXIT_MILLIS);
            } catch (InterruptedException ignored) {
                // halt all the same
            }
            Runtime.getRuntime().halt(1);
        }, "herd-orphan-halt");
        halter.setDaemon(true);
        halter.start();
    }
}
