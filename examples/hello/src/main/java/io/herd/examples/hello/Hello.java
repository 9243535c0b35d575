package io.herd.examples.hello;

import io.herd.HerdWorker;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * An HTTP/1.1 keep-alive "hello world" server on herd's worker SDK: one virtual thread per
 * connection, every request answered {@code 200 hello world} with an {@code X-Herd-Worker:
 * <instance>:<pid>} header, so you can see which worker served you.
 *
 * <p>{@code GET /sleep?ms=N} answers after N milliseconds: a slow request, to watch a graceful
 * stop finish it. With {@code HELLO_CRASH_IF_EXISTS=<file>} set and that file present, it exits
 * with status 1 as it starts: a bad release, to watch a reload refuse it. {@code HELLO_LOG_BYTES=N}
 * makes it write about N bytes of log lines as it starts. Run alone: {@code java -jar hello.jar [port]} (default 8080, on 127.0.0.1);
 * under herd the master hands it its connections.
 *
 * <p>On herd's graceful shutdown it stops taking requests, closes idle keep-alive connections,
 * lets the requests in flight finish (each answered with {@code Connection: close}), and returns.
 */
public final class Hello {
    private static final int MAX_HEADER_BYTES = 16 * 1024;
    private static final long MAX_SLEEP_MILLIS = 60_000;
    /**
     * While draining, a keep-alive connection is closed once it has been idle this long. Sooner,
     * and a client that is just sending its next request would see the connection cut; busy
     * connections are told {@code Connection: close} with their next response instead.
     */
    private static final long DRAIN_IDLE_NANOS = 250_000_000L;

    private final byte[] keepAliveResponse;
    private final byte[] closeResponse;
    private final Set<Exchange> connections = ConcurrentHashMap.newKeySet();
    private final CountDownLatch acceptLoopDone = new CountDownLatch(1);
    private volatile boolean draining;

    Hello(String workerId) {
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nX-Herd-Worker: " + workerId + "\r\n";
        keepAliveResponse = (head + "\r\nhello world").getBytes(StandardCharsets.US_ASCII);
        closeResponse = (head + "Connection: close\r\n\r\nhello world").getBytes(StandardCharsets.US_ASCII);
    }

    public static void main(String[] args) throws IOException {
        String crashSwitch = System.getenv("HELLO_CRASH_IF_EXISTS");
        if (crashSwitch != null && java.nio.file.Files.exists(java.nio.file.Path.of(crashSwitch))) {
            System.err.println("hello: " + crashSwitch + " exists: crashing on purpose");
            System.exit(1);
        }
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 8080;
        HerdWorker worker = HerdWorker.start(new InetSocketAddress("127.0.0.1", port));
        Hello hello = new Hello(worker.instance() + ":" + ProcessHandle.current().pid());
        worker.onShutdown(hello::drain);
        worker.ready();
        System.out.println("hello " + worker.instance() + ":" + ProcessHandle.current().pid() + " serving"
                + (worker.isManaged() ? " for herd app " + worker.app() : " on 127.0.0.1:" + port));
        chatter(System.getenv("HELLO_LOG_BYTES"));
        hello.acceptLoop(worker);
    }

    /** {@code HELLO_LOG_BYTES=N}: writes about N bytes of log lines to stdout, to watch log rotation. */
    private static void chatter(String bytes) {
        if (bytes == null) return;
        String line = "hello is chatty: " + "x".repeat(100);
        for (long written = 0; written < Long.parseLong(bytes); written += line.length() + 1) System.out.println(line);
    }

    private void acceptLoop(HerdWorker worker) throws IOException {
        try {
            while (true) {
                // Registered before its thread starts, so a drain sees every connection accepted.
                Exchange exchange = new Exchange(worker.accept());
                connections.add(exchange);
                Thread.startVirtualThread(() -> serve(exchange));
            }
        } catch (ClosedChannelException stopping) {
            // the worker is stopping: no more connections
        } finally {
            acceptLoopDone.countDown();
        }
    }

    /**
     * One connection's state, guarded by itself: busy from a request's first byte until its
     * response is written; idle since {@code idleSince} otherwise.
     */
    private static final class Exchange {
        final SocketChannel channel;
        boolean busy;
        long idleSince = System.nanoTime();

        Exchange(SocketChannel channel) {
            this.channel = channel;
        }
    }

    void serve(Exchange exchange) {
        SocketChannel channel = exchange.channel;
        ByteBuffer buffer = ByteBuffer.allocate(MAX_HEADER_BYTES);
        try (channel) {
            while (true) {
                Request request = read(exchange, buffer);
                if (request == null) return;
                if (request.sleepMillis > 0) Thread.sleep(request.sleepMillis);
                boolean close = request.close || draining;
                channel.write(ByteBuffer.wrap(close ? closeResponse : keepAliveResponse));
                synchronized (exchange) {
                    exchange.busy = false;
                    exchange.idleSince = System.nanoTime();
                }
                if (close) return;
            }
        } catch (IOException | InterruptedException gone) {
            // The client left, or the connection was closed while idle during a drain.
        } finally {
            connections.remove(exchange);
        }
    }

    private record Request(boolean close, long sleepMillis) {
    }

    /** Reads one request's head (and skips its body); null at end of stream or on a bad request. */
    private Request read(Exchange exchange, ByteBuffer buffer) throws IOException {
        int end;
        while ((end = headEnd(buffer)) < 0) {
            if (!buffer.hasRemaining()) return null; // head too large
            if (exchange.channel.read(buffer) < 0) return null;
            markBusy(exchange);
        }
        if (!markBusy(exchange)) return null; // a pipelined request needs no read: busy all the same
        String head = new String(buffer.array(), 0, end, StandardCharsets.ISO_8859_1);
        String[] lines = lines(head);
        String[] requestLine = lines[0].split(" ");
        if (requestLine.length != 3) return null;
        boolean http10 = requestLine[2].equals("HTTP/1.0");
        boolean close = http10;
        long contentLength = 0;
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon < 0) continue;
            String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(colon + 1).trim().toLowerCase(Locale.ROOT);
            if (name.equals("connection")) close = value.contains("close") || (http10 && !value.contains("keep-alive"));
            if (name.equals("content-length")) {
                try {
                    contentLength = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    return null;
                }
            }
            if (name.equals("transfer-encoding")) return null; // chunked bodies are beyond this example
        }
        consume(exchange.channel, buffer, end + 4, contentLength);
        return new Request(close, sleepMillis(requestLine[1]));
    }

    /**
     * The CRLF-separated lines of a request head. Not {@code head.split("\r\n")}: a separator of
     * two characters makes split compile a regular expression, at every request.
     */
    private static String[] lines(String head) {
        java.util.List<String> lines = new java.util.ArrayList<>();
        int start = 0;
        for (int end; (end = head.indexOf("\r\n", start)) >= 0; start = end + 2) lines.add(head.substring(start, end));
        lines.add(head.substring(start));
        return lines.toArray(new String[0]);
    }

    /** False when a drain closed the connection first. */
    private static boolean markBusy(Exchange exchange) {
        synchronized (exchange) {
            exchange.busy = exchange.channel.isOpen();
            return exchange.busy;
        }
    }

    /** Drops the head and the body from the buffer, reading the rest of the body if needed. */
    private static void consume(SocketChannel channel, ByteBuffer buffer, int headLength, long bodyLength) throws IOException {
        long toDrop = headLength + bodyLength;
        while (buffer.position() < toDrop) {
            toDrop -= buffer.position();
            buffer.clear();
            if (channel.read(buffer) < 0) throw new ClosedChannelException();
        }
        buffer.flip();
        buffer.position((int) toDrop);
        buffer.compact();
    }

    private static int headEnd(ByteBuffer buffer) {
        byte[] bytes = buffer.array();
        for (int i = 3; i < buffer.position(); i++) {
            if (bytes[i] == '\n' && bytes[i - 1] == '\r' && bytes[i - 2] == '\n' && bytes[i - 3] == '\r') return i - 3;
        }
        return -1;
    }

    private static long sleepMillis(String target) {
        if (!target.startsWith("/sleep?ms=")) return 0;
        try {
            return Math.min(MAX_SLEEP_MILLIS, Math.max(0, Long.parseLong(target.substring("/sleep?ms=".length()))));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * herd's graceful shutdown: every request in flight is answered (with {@code Connection:
     * close}), idle keep-alive connections are closed; returns when none is left (or after a
     * minute, the longest a request here can take).
     */
    void drain() {
        draining = true;
        long deadline = System.nanoTime() + MAX_SLEEP_MILLIS * 1_000_000L;
        try {
            acceptLoopDone.await(); // the SDK ends accept() before it calls this: soon
            while (!connections.isEmpty() && System.nanoTime() < deadline) {
                long now = System.nanoTime();
                for (Exchange exchange : connections) {
                    synchronized (exchange) {
                        if (!exchange.busy && now - exchange.idleSince > DRAIN_IDLE_NANOS) closeQuietly(exchange.channel);
                    }
                }
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // it is being closed for good either way
        }
    }
}
