package io.herd.service;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded HTTP/1.1 load for the tests: a few clients, each sending GET / over a keep-alive
 * connection as fast as answers come, honouring {@code Connection: close} by reconnecting. Every
 * request that does not get a 200 — refused, reset, cut, wrong status — is counted as a failure,
 * with its reason. No retries: a failure is a failure. {@link #connectionPerRequest} makes every
 * request a new connection instead.
 */
final class LoadClient implements AutoCloseable {
    private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] REQUEST_AND_CLOSE = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII);

    private final int port;
    private final long maxRequests;
    private final byte[] request;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final List<Thread> clients = new ArrayList<>();

    /** Starts {@code clients} clients; they stop at {@link #close()} or after {@code maxRequests} in all. */
    LoadClient(int port, int clients, long maxRequests) {
        this(port, clients, maxRequests, REQUEST);
    }

    /** Like the keep-alive load, but every request asks for {@code Connection: close}: a new connection each. */
    static LoadClient connectionPerRequest(int port, int clients, long maxRequests) {
        return new LoadClient(port, clients, maxRequests, REQUEST_AND_CLOSE);
    }

    private LoadClient(int port, int clients, long maxRequests, byte[] request) {
        this.port = port;
        this.maxRequests = maxRequests;
        this.request = request;
        for (int i = 0; i < clients; i++) this.clients.add(Thread.ofVirtual().start(this::run));
    }

    long succeeded() {
        return succeeded.get();
    }

    List<String> failures() {
        return List.copyOf(failures);
    }

    private void run() {
        while (running.get()) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                socket.setSoTimeout(30_000);
                socket.setTcpNoDelay(true);
                InputStream in = new BufferedInputStream(socket.getInputStream());
                OutputStream out = socket.getOutputStream();
                boolean keepAlive = true;
                while (keepAlive && running.get() && sent.incrementAndGet() <= maxRequests) {
                    out.write(request);
                    out.flush();
                    keepAlive = readResponse(in);
                    succeeded.incrementAndGet();
                }
                if (sent.get() > maxRequests) running.set(false);
            } catch (IOException e) {
                failures.add(e.toString());
            }
        }
    }

    /** Reads one response; true when the connection may be reused. */
    private static boolean readResponse(InputStream in) throws IOException {
        String status = line(in);
        if (status == null) throw new IOException("connection closed before a response");
        if (!status.startsWith("HTTP/1.1 200")) throw new IOException("status line: " + status);
        int length = -1;
        boolean close = false;
        String header;
        while (!(header = line(in)).isEmpty()) {
            String lower = header.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) length = Integer.parseInt(lower.substring(15).trim());
            if (lower.startsWith("connection:") && lower.contains("close")) close = true;
        }
        if (length < 0) throw new IOException("no Content-Length");
        if (in.readNBytes(length).length != length) throw new IOException("body cut short");
        return !close;
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                if (line.isEmpty()) return null;
                throw new IOException("connection closed mid-line");
            }
            if (c != '\r') line.append((char) c);
        }
        return line.toString();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        for (Thread client : clients) client.join(60_000);
    }
}
