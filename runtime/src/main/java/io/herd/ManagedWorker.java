package io.herd;

import io.herd.internal.IpcChannel;
import io.herd.internal.IpcMessage;
import io.herd.internal.JdkSockets;
import io.herd.internal.Unix;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The SDK inside a herd worker: connections arrive over the IPC channel from the master.
 *
 * <p>One platform thread reads the channel: each handed-off descriptor becomes a SocketChannel,
 * is acknowledged (so the master closes its copy) and waits in a queue for {@link #accept()}. A
 * second, mostly sleeping thread tells the master how many of those connections the app has
 * closed since, which is how the master knows each worker's open connections.
 *
 * <p>When the channel ends, the master is gone and nobody will ever send work or a stop again:
 * the worker exits by itself, so a killed master leaves no orphan JVMs.
 */
final class ManagedWorker extends HerdWorker {
    /** How often, roughly, closed connections are reported; jittered so workers do not beat together. */
    private static final long CLOSE_REPORT_MILLIS = 200;
    /** How long shutdown hooks may run after the master is gone, before the JVM halts. */
    private static final long ORPHAN_EXIT_MILLIS = 1000;
    /** Put in the queue once the worker stops, to wake every thread blocked in accept(). */
    private static final Object CLOSED = new Object();

    private final String app;
    private final int instance;
    private final IpcChannel ipc;
    private final LinkedBlockingQueue<Object> accepted = new LinkedBlockingQueue<>();
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean readySent = new AtomicBoolean();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile Runnable drain;

    ManagedWorker(Path ipcPath, String app, int instance) throws IOException {
        JdkSockets.check();
        this.app = app;
        this.instance = instance;
        this.ipc = IpcChannel.connect(ipcPath);
        Thread reader = new Thread(this::readLoop, "herd-ipc");
        reader.setDaemon(true);
        reader.start();
        Thread reporter = new Thread(this::reportClosedLoop, "herd-ipc-closes");
        reporter.setDaemon(true);
        reporter.start();
    }

    @Override
    public SocketChannel accept() throws IOException {
        try {
            Object next = accepted.take();
            if (next == CLOSED) {
                accepted.offer(CLOSED); // wake the next thread waiting in accept() too
                throw new ClosedChannelException();
            }
            return (SocketChannel) next;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.nio.channels.ClosedByInterruptException();
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

    @Override
    public void close() {
        if (stopping.compareAndSet(false, true)) accepted.offer(CLOSED);
    }

    private void readLoop() {
        try (IpcChannel.Reader reader = ipc.reader()) {
            while (true) {
                IpcMessage message = reader.read();
                switch (message.type()) {
                    case HANDOFF -> take(message);
                    case SHUTDOWN -> shutdown();
                    default -> throw new java.net.ProtocolException("unexpected " + message.type() + " from the master");
                }
            }
        } catch (EOFException masterGone) {
            exitOrphaned("the herd master closed the IPC channel");
        } catch (IOException | RuntimeException e) {
            exitOrphaned("the IPC channel to the herd master broke: " + e);
        }
    }

    private void take(IpcMessage handoff) throws IOException {
        if (stopping.get()) {
            Unix.close(handoff.fd());
            ipc.send(IpcMessage.of(IpcMessage.Type.NACK, handoff.id()), false);
            return;
        }
        SocketChannel channel;
        try {
            channel = JdkSockets.channelOf(handoff.fd(), handoff.family());
        } catch (IOException clientAlreadyGone) {
            // getpeername fails when the client hung up while the connection was in flight.
            Unix.close(handoff.fd());
            ipc.send(IpcMessage.of(IpcMessage.Type.ACK, handoff.id()), false);
            ipc.send(IpcMessage.closed(1), false);
            return;
        }
        open.add(channel);
        ipc.send(IpcMessage.of(IpcMessage.Type.ACK, handoff.id()), false);
        accepted.offer(channel);
    }

    private void shutdown() {
        close();
        Runnable drain = this.drain;
        Thread stopper = new Thread(() -> {
            try {
                if (drain != null) drain.run();
            } finally {
                System.exit(0);
            }
        }, "herd-shutdown");
        stopper.start();
    }

    private void reportClosedLoop() {
        try {
            while (true) {
                Thread.sleep(CLOSE_REPORT_MILLIS / 2 + ThreadLocalRandom.current().nextLong(CLOSE_REPORT_MILLIS));
                int closed = 0;
                for (SocketChannel channel : open) {
                    if (!channel.isOpen() && open.remove(channel)) closed++;
                }
                if (closed > 0) ipc.send(IpcMessage.closed(closed), false);
            }
        } catch (InterruptedException | IOException e) {
            // The channel is gone: the reader thread is taking the JVM down.
        }
    }

    private static void exitOrphaned(String why) {
        System.err.println("herd worker: " + why + "; exiting");
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
        new Thread(() -> System.exit(1), "herd-orphan-exit").start();
    }
}
