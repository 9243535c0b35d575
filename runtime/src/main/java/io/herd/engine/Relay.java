package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Proxy dispatch's data path: relays each client connection's bytes to and from a worker's
 * loopback port, on a few selector threads — no thread per connection.
 *
 * <p>Each direction of a relayed connection holds at most one buffer, and only while the side it
 * writes to cannot take more: then reading from the other side stops until it can (backpressure).
 * So whatever clients do, the master holds at most two buffers per connection. An end of stream
 * is passed on as a half-close once what preceded it is written. Buffers are direct, pooled per
 * thread.
 *
 * <p>With {@code proxy.http}, each connection's bytes are also followed as HTTP/1.1 messages
 * ({@link HttpFraming}): while its worker drains, a keep-alive connection gets
 * {@code Connection: close} on its next response and is closed once that response is written,
 * rather than cut when kill.timeout ends the drain.
 */
final class Relay extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(Relay.class.getName());
    /** The most a direction holds; 32 KiB keeps large transfers to few system calls. */
    static final int BUFFER_SIZE = 32 * 1024;
    /** Free buffers a thread keeps for reuse; more are left to the garbage collector. */
    private static final int POOL_SIZE = 256;
    /** A worker's port must take a connection within this, or the connection goes elsewhere. */
    private static final long CONNECT_TIMEOUT_NANOS = 5_000_000_000L;
    /**
     * A {@link ConnectException} is how the JDK reports a refusal (ECONNREFUSED: nothing listens
     * on the port), which on loopback comes back at once; but also the kernel giving up after its
     * SYN retransmissions (ETIMEDOUT: a listener whose queue stayed full), which takes 3 s at the
     * least (net.ipv4.tcp_syn_retries = 1; 127 s by default). One that took longer than this is
     * passed on as the timeout it is.
     */
    private static final long ANSWER_NANOS = 1_000_000_000L;
    private static final long SWEEP_MILLIS = 1_000;
    /** The one field the relay ever adds (proxy.http, to a draining worker's response); read-only, shared by every thread through duplicates. */
    private static final ByteBuffer CONNECTION_CLOSE = connectionClose();

    private final Loop[] loops;
    private final AtomicInteger turn = new AtomicInteger();
    private final FatalErrors fatalErrors;

    Relay(int threads, FatalErrors fatalErrors) {
        loops = new Loop[threads];
        this.fatalErrors = fatalErrors;
    }

    @Override
    protected void doStart() throws IOException {
        for (int i = 0; i < loops.length; i++) {
            loops[i] = new Loop(Selector.open());
            Thread thread = new Thread(fatalErrors.guarded(loops[i]), "herd-relay-" + i);
            thread.setDaemon(true);
            loops[i].thread = thread;
            thread.start();
        }
    }

    @Override
    protected void doStop() throws InterruptedException {
        for (Loop loop : loops) {
            if (loop == null) continue;
            loop.running = false;
            loop.selector.wakeup();
            loop.thread.join(10_000);
        }
    }

    /**
     * Starts relaying {@code client} to {@code worker}'s port. Never blocks. When the port does
     * not take the connection, the client, not yet read from, goes back to the dispatcher for
     * another worker.
     */
    void open(Connection client, Worker worker, AppConfig.Proxy settings) {
        Loop loop = loops[Math.floorMod(turn.getAndIncrement(), loops.length)];
        loop.incoming.add(new Pipe(client, worker, settings));
        loop.selector.wakeup();
    }

    /**
     * Completes once every relay thread has gone round its loop: they still relay (the service's
     * watchdog asks). A relay that does not run has nothing to watch, and answers at once.
     */
    CompletableFuture<Void> roundTrip() {
        List<CompletableFuture<Void>> trips = new ArrayList<>();
        for (Loop loop : loops) {
            if (loop == null || !loop.running) continue;
            CompletableFuture<Void> trip = new CompletableFuture<>();
            loop.roundTrips.add(trip);
            loop.selector.wakeup();
            trips.add(trip);
        }
        return CompletableFuture.allOf(trips.toArray(CompletableFuture[]::new));
    }

    /** One selector thread and the connections it relays. */
    private static final class Loop implements Runnable {
        final Selector selector;
        final ConcurrentLinkedQueue<Pipe> incoming = new ConcurrentLinkedQueue<>();
        /** Round trips asked for ({@link Relay#roundTrip}), completed at the next turn of the loop. */
        final ConcurrentLinkedQueue<CompletableFuture<Void>> roundTrips = new ConcurrentLinkedQueue<>();
        final ArrayDeque<ByteBuffer> pool = new ArrayDeque<>();
        volatile boolean running = true;
        Thread thread;
        long now = System.nanoTime();
        long nextSweep;

        Loop(Selector selector) {
            this.selector = selector;
        }

        @Override
        public void run() {
            nextSweep = now + jitteredSweepNanos();
            while (running) {
                try {
                    selector.select(SWEEP_MILLIS);
                    now = System.nanoTime();
                    for (Pipe pipe; (pipe = incoming.poll()) != null; ) guarded(pipe, this::connect);
                    for (CompletableFuture<Void> trip; (trip = roundTrips.poll()) != null; ) trip.complete(null);
                    for (SelectionKey key : selector.selectedKeys()) handle(key);
                    selector.selectedKeys().clear();
                    if (now - nextSweep >= 0) {
                        sweep();
                        nextSweep = now + jitteredSweepNanos();
                    }
                } catch (IOException | RuntimeException e) {
                    LOG.log(Level.ERROR, "relay loop", e);
                }
            }
            for (SelectionKey key : List.copyOf(selector.keys())) ((Pipe) key.attachment()).close(this);
            for (Pipe pipe; (pipe = incoming.poll()) != null; ) pipe.client.closeMasterCopy();
            try {
                selector.close();
            } catch (IOException ignored) {
                // stopping anyway
            }
        }

        private static long jitteredSweepNanos() {
            return (SWEEP_MILLIS * 9 / 10 + ThreadLocalRandom.current().nextLong(SWEEP_MILLIS / 5)) * 1_000_000;
        }

        private void connect(Pipe pipe) {
            if (!pipe.worker.accepting()) { // it stopped taking connections since it was chosen: its port is another process's, say
                pipe.ended = true;
                pipe.worker.relayNotTaken(pipe.client, null);
                return;
            }
            pipe.lastActive = now;
            try {
                SocketChannel upstream = SocketChannel.open();
                pipe.upstream = upstream;
                upstream.configureBlocking(false);
                upstream.setOption(StandardSocketOptions.TCP_NODELAY, true);
                pipe.upstreamKey = upstream.register(selector, 0, pipe);
                if (upstream.connect(pipe.worker.proxyAddress())) connected(pipe);
                else pipe.upstreamKey.interestOps(SelectionKey.OP_CONNECT);
            } catch (IOException e) {
                notTaken(pipe, e);
            }
        }

        /** The worker's port took the connection: from now on the bytes flow. */
        private void connected(Pipe pipe) throws IOException {
            SocketChannel client = pipe.client.channel();
            client.configureBlocking(false);
            client.setOption(StandardSocketOptions.TCP_NODELAY, true);
            pipe.clientKey = client.register(selector, 0, pipe);
            pipe.up = new Direction(client, pipe.upstream, true);
            pipe.down = new Direction(pipe.upstream, client, false);
            pipe.started = true;
            if (pipe.settings.header() != AppConfig.Proxy.Header.NONE) {
                ByteBuffer header = take();
                ProxyHeader.write(pipe.settings.header(), client, header);
                header.flip();
                pipe.up.pending = header;
                write(pipe, pipe.up);
            }
            pipe.updateInterest();
        }

        /**
         * The port did not take the connection (refused: nothing listens; timed out; or the master
         * could not even try): the client, not yet read from, goes to another worker, and the worker
         * learns why.
         */
        private void notTaken(Pipe pipe, IOException why) {
            if (why instanceof ConnectException && now - pipe.lastActive >= ANSWER_NANOS) {
                why = new IOException("no connection within " + (now - pipe.lastActive) / 1_000_000 + " ms", why);
            }
            LOG.log(Level.DEBUG, "{0} did not take a relayed connection: {1}", pipe.worker.name(), why.toString());
            if (pipe.upstreamKey != null) pipe.upstreamKey.cancel();
            closeQuietly(pipe.upstream);
            pipe.ended = true; // the client is the dispatcher's from here
            pipe.worker.relayNotTaken(pipe.client, why);
        }

        /** One step of a connection's handling, with a bug met there {@link #failed ending that connection}. */
        private void guarded(Pipe pipe, Consumer<Pipe> step) {
            try {
                step.accept(pipe);
            } catch (RuntimeException e) {
                failed(pipe, e);
            }
        }

        /**
         * A bug met while relaying one connection (a RuntimeException from its handling) ends that
         * connection, not the loop's others: it is closed, which gives back its descriptors and its
         * place among the app's proxy.max.connections, and logged.
         */
        private void failed(Pipe pipe, RuntimeException e) {
            pipe.close(this);
            LOG.log(Level.ERROR, "relaying a connection to " + pipe.worker.name() + " failed; closed it", e);
        }

        private void handle(SelectionKey key) {
            Pipe pipe = (Pipe) key.attachment();
            try {
                if (!key.isValid()) return;
                if (!pipe.started) {
                    if (key.isConnectable()) {
                        try {
                            pipe.upstream.finishConnect();
                        } catch (IOException refused) {
                            notTaken(pipe, refused);
                            return;
                        }
                        connected(pipe);
                    }
                    return;
                }
                boolean fromClient = key == pipe.clientKey;
                Direction reading = fromClient ? pipe.up : pipe.down;
                Direction writing = fromClient ? pipe.down : pipe.up;
                if (key.isWritable() && writing.pending != null) write(pipe, writing);
                if (!pipe.ended && key.isReadable() && reading.wantsRead()) read(pipe, reading);
                if (pipe.ended) return; // closed after a draining worker's last response
                if (pipe.up.done() && pipe.down.done()) pipe.close(this);
                else pipe.updateInterest();
            } catch (IOException | CancelledKeyException e) {
                pipe.close(this); // reset, refused or cut: both sides go
            } catch (RuntimeException e) {
                failed(pipe, e);
            }
        }

        /** Reads what the source has and writes it on at once; what does not fit stays pending. */
        private void read(Pipe pipe, Direction direction) throws IOException {
            ByteBuffer buffer = take();
            int count = direction.from.read(buffer);
            if (count <= 0) {
                give(buffer);
                if (count < 0) {
                    direction.ended = true;
                    direction.passEnd();
                }
                return;
            }
            pipe.lastActive = now;
            buffer.flip();
            direction.pending = buffer;
            if (pipe.http != null) follow(pipe, direction, buffer);
            write(pipe, direction);
        }

        /**
         * proxy.http: the bytes just read, followed as HTTP messages before they are written on. A
         * response of a draining worker gets {@code Connection: close} after its status line. Once
         * the messages cannot be followed, the connection is relayed as plain bytes, as without proxy.http.
         */
        private void follow(Pipe pipe, Direction direction, ByteBuffer buffer) {
            HttpFraming http = pipe.http;
            if (direction.toWorker) {
                http.fromClient(buffer);
            } else {
                http.fromWorker(buffer, pipe.worker.draining);
                if (http.insertAt() >= 0) direction.insertAt(http.insertAt(), CONNECTION_CLOSE.duplicate());
            }
            if (http.plain()) {
                LOG.log(Level.DEBUG, "{0}: relaying a connection as plain bytes from now on: {1}", pipe.worker.name(), http.plainBecause());
                pipe.http = null;
            }
        }

        /** Writes a direction's pending bytes; keeps what the destination cannot take yet. */
        private void write(Pipe pipe, Direction direction) throws IOException {
            long written = direction.writePending();
            if (written > 0) {
                pipe.lastActive = now;
                pipe.worker.relayed(direction.toWorker, (int) written);
            }
            if (direction.pendingLeft()) return;
            ByteBuffer buffer = direction.pending;
            direction.pending = null;
            direction.gathered = null;
            give(buffer);
            if (direction.ended) direction.passEnd();
            if (!direction.toWorker && pipe.http != null && pipe.http.closeNow()) closeAfterLastResponse(pipe);
        }

        /**
         * proxy.http: the response that told the client {@code Connection: close} is written whole,
         * so the connection ends here, between two requests, and the draining worker has one fewer
         * to wait for. Unless the client sent more meanwhile: that is read first (bytes left unread
         * would turn the close into a reset, which can lose the response just written), relayed on,
         * and the connection goes on as plain bytes.
         */
        private void closeAfterLastResponse(Pipe pipe) throws IOException {
            if (pipe.up.wantsRead()) read(pipe, pipe.up);
            if (pipe.http != null && pipe.http.closeNow()) pipe.close(this);
        }

        /** Closes connections idle past their timeout, and connects that never completed. */
        private void sweep() {
            List<Pipe> expired = new ArrayList<>();
            for (SelectionKey key : selector.keys()) {
                Pipe pipe = (Pipe) key.attachment();
                if (key != pipe.upstreamKey) continue; // one key per connection is enough
                long idle = now - pipe.lastActive;
                if (pipe.started ? idle > pipe.settings.idleTimeout().toNanos() : idle > CONNECT_TIMEOUT_NANOS) expired.add(pipe);
            }
            for (Pipe pipe : expired) guarded(pipe, this::expire);
        }

        private void expire(Pipe pipe) {
            if (pipe.started) {
                LOG.log(Level.DEBUG, "{0}: closing a relayed connection idle for {1} ms", pipe.worker.name(),
                        Long.toString(pipe.settings.idleTimeout().toMillis()));
                pipe.close(this);
            } else {
                notTaken(pipe, new IOException("no connection within " + CONNECT_TIMEOUT_NANOS / 1_000_000 + " ms"));
            }
        }

        ByteBuffer take() {
            ByteBuffer buffer = pool.pollFirst();
            return buffer != null ? buffer : ByteBuffer.allocateDirect(BUFFER_SIZE);
        }

        void give(ByteBuffer buffer) {
            buffer.clear();
            if (pool.size() < POOL_SIZE) pool.addFirst(buffer);
        }
    }

    /** One relayed connection: a client and the worker port it talks to. */
    private static final class Pipe {
        final Connection client;
        final Worker worker;
        final AppConfig.Proxy settings;
        /** proxy.http: follows its messages; null without proxy.http, and once it is relayed as plain bytes. */
        HttpFraming http;
        SocketChannel upstream;
        SelectionKey clientKey;
        SelectionKey upstreamKey;
        Direction up;
        Direction down;
        boolean started;
        /** Closed, or given back to the dispatcher unconnected: it ends once. */
        boolean ended;
        long lastActive;

        Pipe(Connection client, Worker worker, AppConfig.Proxy settings) {
            this.client = client;
            this.worker = worker;
            this.settings = settings;
            this.http = settings.http() ? new HttpFraming() : null;
        }

        /** Each side reads while its direction can take more, and writes while the other's has bytes. */
        void updateInterest() {
            clientKey.interestOps((up.wantsRead() ? SelectionKey.OP_READ : 0) | (down.pending != null ? SelectionKey.OP_WRITE : 0));
            upstreamKey.interestOps((down.wantsRead() ? SelectionKey.OP_READ : 0) | (up.pending != null ? SelectionKey.OP_WRITE : 0));
        }

        void close(Loop loop) {
            if (ended) return;
            ended = true;
            for (Direction direction : new Direction[]{up, down}) {
                if (direction != null && direction.pending != null) {
                    loop.give(direction.pending);
                    direction.pending = null;
                }
            }
            client.closeMasterCopy();
            closeQuietly(upstream);
            worker.relayEnded(); // counted when it was handed to the worker, connected or not
        }
    }

    /** One direction of a connection: bytes read from one side, written to the other. */
    private static final class Direction {
        final SocketChannel from;
        final SocketChannel to;
        /** Client to worker (counted as bytes in), or worker to client. */
        final boolean toWorker;
        /** Bytes read but not yet written; null when there are none. */
        ByteBuffer pending;
        /**
         * proxy.http, while {@code pending} is written with {@code Connection: close} inserted: the
         * bytes before the insertion point, the field, and {@code pending} itself from there on; else null.
         */
        ByteBuffer[] gathered;
        /** The source reached its end of stream. */
        boolean ended;
        /** ...and the destination was told (its output shut down). */
        boolean endPassed;

        Direction(SocketChannel from, SocketChannel to, boolean toWorker) {
            this.from = from;
            this.to = to;
            this.toWorker = toWorker;
        }

        boolean wantsRead() {
            return pending == null && !ended;
        }

        /** Writes {@code field} into the pending bytes at {@code index}: one gathering write, no copy. */
        void insertAt(int index, ByteBuffer field) {
            ByteBuffer before = pending.duplicate().limit(index);
            pending.position(index);
            gathered = new ByteBuffer[] {before, field, pending};
        }

        /** Writes what the destination takes of the pending bytes; returns how many it took. */
        long writePending() throws IOException {
            return gathered != null ? to.write(gathered) : to.write(pending);
        }

        /** True while some of the pending bytes are not written yet. */
        boolean pendingLeft() {
            if (gathered == null) return pending.hasRemaining();
            for (ByteBuffer part : gathered) {
                if (part.hasRemaining()) return true;
            }
            return false;
        }

        /** Passes the end of stream on, once everything before it is written: a half-close. */
        void passEnd() {
            if (endPassed || pending != null) return;
            endPassed = true;
            try {
                to.shutdownOutput();
            } catch (ClosedChannelException ignored) {
                // closed already: nothing left to tell
            } catch (IOException ignored) {
                // the other side reset: the next read or write there ends the connection
            }
        }

        boolean done() {
            return endPassed;
        }
    }

    private static ByteBuffer connectionClose() {
        byte[] field = "Connection: close\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return ByteBuffer.allocateDirect(field.length).put(field).flip().asReadOnlyBuffer();
    }

    private static void closeQuietly(SocketChannel channel) {
        if (channel == null) return;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing: nothing more to do
        }
    }
}
