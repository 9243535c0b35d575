package io.herd.engine;

import io.herd.config.AppConfig;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One app's HTTP health check, the I/O of it: a GET that reaches a worker the way clients'
 * connections do, and its status line read within the check's timeout. Blocking; run off the
 * event thread ({@link HttpHealthChecks} does, on virtual threads).
 *
 * <p>Handoff dispatch: the master makes a TCP connection to itself over loopback and hands the
 * accepted end to the worker over IPC, as it hands a client's; the check writes its request on
 * the other end. TCP rather than an AF_UNIX socketpair, because apps set TCP options
 * (TCP_NODELAY) and read the remote address of what they accept, which fail on AF_UNIX. The
 * listening socket is the master's own, on 127.0.0.1 and a port the kernel picks; any local
 * process could connect to it too, so the accepted connection is taken only when its remote
 * address and port are the check's own socket's. Proxy dispatch: the check connects to the worker's own
 * port, with the PROXY header first when the app has one.
 *
 * <p>Only the status line is read (at most {@link #MAX_STATUS_LINE} bytes): a worker answering
 * with an endless body or header costs the master nothing.
 */
final class HealthProbe implements Closeable {
    private static final System.Logger LOG = System.getLogger(HealthProbe.class.getName());
    /** The longest status line read; a longer one is not HTTP's. */
    static final int MAX_STATUS_LINE = 1024;
    /** The loopback listener's backlog. */
    private static final int BACKLOG = 64;
    /**
     * Connections to the loopback listener from elsewhere that one check closes before it gives
     * up: the backlog's worth, for connections are accepted in the order they came, so the
     * check's own is among the first {@code BACKLOG} when it got into the queue at all.
     */
    private static final int MAX_INTRUDERS = BACKLOG;
    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] (\\d{3})(?: .*)?");
    /**
     * Ids of health checks' connections: negative, so they never meet a client's (the acceptor
     * counts those up from 1) in a worker's connections waiting to be acknowledged.
     */
    private static final AtomicLong IDS = new AtomicLong();
    /** IPv4's loopback, whatever the JVM prefers: the handed connection is announced as family 4. */
    private static final InetAddress LOOPBACK = InetAddress.ofLiteral("127.0.0.1");

    private final AppConfig config;
    private final byte[] request;
    /** Guards {@link #listener}: one connection made and accepted at a time, so none takes another's. */
    final ReentrantLock pairing = new ReentrantLock(); // package-private: a test holds it, as a pairing that takes too long would
    private ServerSocketChannel listener;
    private boolean closed;

    HealthProbe(AppConfig config) {
        this.config = config;
        AppConfig.Health health = config.health();
        // Every part was checked by HealthUrl: nothing in it can end a line or start a header.
        this.request = ("GET " + health.url().path() + " HTTP/1.1\r\nHost: " + health.url().hostHeader()
                + "\r\nUser-Agent: herd-health\r\nAccept: */*\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * The check could not be made, for a reason on the master's side rather than the worker's
     * (its loopback connection could not be made): it says nothing about the worker.
     */
    static final class NotMade extends Exception {
        NotMade(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Checks {@code worker} once, within the app's health timeout.
     *
     * @return null when it answered with a status from 200 to 399; otherwise what went wrong,
     *         in a few words ("status 503", "timed out after 2 s")
     * @throws NotMade when the master could not make the check (handoff dispatch)
     */
    String check(Worker worker) throws NotMade {
        long deadline = System.nanoTime() + config.health().timeout().toNanos();
        SocketChannel client = null;
        if (worker.proxyAddress() == null && worker.unacknowledgedHealthChecks() > 0) {
            // no second connection while it holds the last one untaken: a failure, as not accepting is
            return "it has not yet taken its last health check's connection";
        }
        try {
            client = worker.proxyAddress() != null ? connectToPort(worker, deadline) : handOff(worker, pairOrNotMade(deadline));
            if (client == null) return "the worker took no connection (its IPC channel is full or closed)";
            return answer(client, deadline);
        } catch (SocketTimeoutException timedOut) {
            return "timed out after " + readable(config.health().timeout().toMillis());
        } catch (IOException e) {
            return e.getMessage() == null ? e.toString() : e.getMessage();
        } finally {
            closeQuietly(client);
        }
    }

    /** Proxy dispatch: a connection to the worker's own port, its PROXY header sent when the app has one. */
    private SocketChannel connectToPort(Worker worker, long deadline) throws IOException {
        SocketChannel client = SocketChannel.open();
        try {
            client.socket().connect(worker.proxyAddress(), remainingMillis(deadline));
        } catch (SocketTimeoutException timedOut) {
            closeQuietly(client);
            throw timedOut;
        } catch (IOException e) {
            closeQuietly(client);
            throw new IOException("its port " + worker.proxyAddress().getPort() + " took no connection: " + e.getMessage(), e);
        }
        if (config.proxy().header() != AppConfig.Proxy.Header.NONE) {
            ByteBuffer header = ByteBuffer.allocate(256);
            ProxyHeader.write(config.proxy().header(), (InetSocketAddress) client.getLocalAddress(), worker.proxyAddress(), header);
            writeAll(client, header.flip());
        }
        return client;
    }

    /**
     * Handoff dispatch: a loopback TCP connection, its accepted end handed to the worker as a
     * client's is. The worker's SDK acknowledges it when the app accepts it; until then the
     * master holds its copy, and a worker that will not take it closes it (see {@link Worker}).
     *
     * @return the check's end, or null when the worker could not be sent the other
     */
    private SocketChannel handOff(Worker worker, SocketChannel[] pair) {
        Connection connection;
        try {
            connection = new Connection(-IDS.incrementAndGet(), pair[1], 4, true);
        } catch (RuntimeException e) {
            closeQuietly(pair[0]);
            closeQuietly(pair[1]);
            throw e;
        }
        if (!worker.handOff(connection)) {
            connection.closeMasterCopy();
            closeQuietly(pair[0]);
            return null;
        }
        return pair[0];
    }

    private SocketChannel[] pairOrNotMade(long deadline) throws NotMade {
        try {
            return loopbackPair(deadline);
        } catch (IOException e) {
            throw new NotMade("no loopback connection to hand the worker: " + e, e);
        }
    }

    /** A connected pair: the check's end, and the end accepted from the master's loopback listener. */
    SocketChannel[] loopbackPair(long deadline) throws IOException {
        try {
            if (!pairing.tryLock(remainingMillis(deadline), TimeUnit.MILLISECONDS)) throw new SocketTimeoutException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        try {
            if (closed) throw new IOException("the app is stopping");
            if (listener == null) {
                listener = ServerSocketChannel.open();
                listener.bind(new InetSocketAddress(LOOPBACK, 0), BACKLOG);
            }
            closeQueued();
            SocketChannel client = SocketChannel.open();
            try {
                client.socket().connect(listener.getLocalAddress(), remainingMillis(deadline));
                return new SocketChannel[] {client, acceptFrom((InetSocketAddress) client.getLocalAddress(), deadline)};
            } catch (IOException | RuntimeException e) {
                closeQuietly(client);
                throw e;
            }
        } finally {
            pairing.unlock();
        }
    }

    /**
     * Closes the connections queued on the listener before the check's own is made: none is a
     * check's (one check at a time; a timed-out check's own is stale), and a queue left full
     * would keep every later check's connection out for good, for they are accepted only once
     * the check's connect succeeded.
     */
    private void closeQueued() throws IOException {
        int closed = 0;
        listener.configureBlocking(false);
        try {
            for (SocketChannel queued; closed <= BACKLOG && (queued = listener.accept()) != null; closed++) closeQuietly(queued);
        } finally {
            listener.configureBlocking(true);
        }
        if (closed > 0) {
            LOG.log(Level.WARNING, "{0}: closed {1} connection(s) queued on the health check''s loopback port, which were not the check''s",
                    config.name(), closed);
        }
    }

    /**
     * The accepted connection whose remote end is {@code checkEnd}, the check's own socket; others,
     * from other local processes, are closed. Address and port both: any local user may bind
     * another loopback address (127.0.0.2) to the check's port number.
     */
    SocketChannel acceptFrom(InetSocketAddress checkEnd, long deadline) throws IOException {
        for (int intruders = 0; intruders <= MAX_INTRUDERS; intruders++) {
            listener.socket().setSoTimeout(remainingMillis(deadline));
            SocketChannel accepted = listener.socket().accept().getChannel();
            InetSocketAddress remote = (InetSocketAddress) accepted.getRemoteAddress();
            if (remote.equals(checkEnd)) return accepted;
            LOG.log(Level.WARNING, "{0}: closed a connection to the health check''s loopback port from {1}, which was not the check''s",
                    config.name(), remote);
            closeQuietly(accepted);
        }
        throw new IOException("more than " + MAX_INTRUDERS + " other connections reached the health check's loopback port first");
    }

    /** Sends the request and reads the status line, within the deadline. */
    private String answer(SocketChannel client, long deadline) throws IOException {
        writeAll(client, ByteBuffer.wrap(request));
        InputStream in = client.socket().getInputStream();
        byte[] line = new byte[MAX_STATUS_LINE];
        int length = 0;
        while (true) {
            client.socket().setSoTimeout(remainingMillis(deadline));
            int read = in.read(line, length, line.length - length);
            if (read < 0) return length == 0 ? "the connection was closed without an answer" : "the answer ended in its status line";
            int end = indexOf(line, length, length + read, (byte) '\n');
            length += read;
            if (end >= 0) return status(new String(line, 0, end, StandardCharsets.ISO_8859_1).strip());
            if (length == line.length) return "no HTTP status line in the answer's first " + MAX_STATUS_LINE + " bytes";
        }
    }

    /** Null for a status from 200 to 399; else why not. */
    static String status(String line) {
        Matcher matcher = STATUS_LINE.matcher(line);
        if (!matcher.matches()) return "not an HTTP answer: '" + io.herd.config.HerdConfig.printable(shortened(line)) + "'";
        int status = Integer.parseInt(matcher.group(1));
        return status >= 200 && status <= 399 ? null : "status " + status;
    }

    private static void writeAll(SocketChannel channel, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) channel.write(bytes); // a few hundred bytes into an empty socket buffer: never waits
    }

    private static int indexOf(byte[] bytes, int from, int to, byte wanted) {
        for (int i = from; i < to; i++) if (bytes[i] == wanted) return i;
        return -1;
    }

    private static String shortened(String text) {
        return text.length() <= 60 ? text : text.substring(0, 60) + "...";
    }

    /** At least 1 ms: 0 would mean "no timeout" to the socket calls. */
    private static int remainingMillis(long deadline) throws SocketTimeoutException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) throw new SocketTimeoutException();
        return (int) Math.min(Integer.MAX_VALUE, left);
    }

    /** {@code 2 s}, or {@code 1500 ms}: as the reason for a failed check says the timeout. */
    static String readable(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + " s" : millis + " ms";
    }

    /** Where the loopback listener listens (for tests); null before the first check in handoff dispatch. */
    InetSocketAddress loopbackAddress() throws IOException {
        pairing.lock();
        try {
            return listener == null ? null : (InetSocketAddress) listener.getLocalAddress();
        } finally {
            pairing.unlock();
        }
    }

    /** Closes the loopback listener; a check after this fails. */
    @Override
    public void close() {
        pairing.lock();
        try {
            closed = true;
            closeQuietly(listener);
        } finally {
            pairing.unlock();
        }
    }

    private static void closeQuietly(Closeable closeable) {
        if (closeable == null) return;
        try {
            closeable.close();
        } catch (IOException ignored) {
            // nothing to do: the descriptor is released either way
        }
    }
}
