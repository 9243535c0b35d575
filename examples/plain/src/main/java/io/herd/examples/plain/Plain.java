package io.herd.examples.plain;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * An ordinary server, as found in production: the JDK's built-in HTTP server on the port named
 * by {@code PORT} (8080 by default), on loopback. It knows nothing of herd; herd clusters it in
 * proxy dispatch.
 *
 * <ul>
 *   <li>{@code GET /}: "hello from &lt;pid&gt;", with the pid in {@code X-Pid} too;</li>
 *   <li>{@code GET /sleep?ms=N}: answers after N ms;</li>
 *   <li>{@code GET /bytes?n=N}: N bytes, streamed (a large download);</li>
 *   <li>{@code POST /echo}: the body back.</li>
 * </ul>
 *
 * <p>Its shutdown is graceful the way any good server's is, on SIGTERM: for a moment it keeps
 * serving but answers with {@code Connection: close}, so busy keep-alive clients move on cleanly;
 * then it stops, letting the requests in flight finish. With {@code PLAIN_SHUTDOWN=abrupt} it
 * has no shutdown at all, as many servers do not: at SIGTERM its JVM exits, cutting every
 * connection open (herd's {@code proxy.http} closes them between requests first).
 */
public final class Plain {
    private static final long DRAIN_MILLIS = 500;
    private static volatile boolean draining;

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", Plain::handle);
        if (!"abrupt".equals(System.getenv("PLAIN_SHUTDOWN"))) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                draining = true;
                sleep(DRAIN_MILLIS);
                server.stop(5);
            }, "plain-shutdown"));
        }
        server.start();
        System.out.println("plain: serving on 127.0.0.1:" + port + " (pid " + ProcessHandle.current().pid() + ")");
    }

    private static void handle(HttpExchange exchange) throws IOException {
        try (exchange; InputStream body = exchange.getRequestBody()) {
            String path = exchange.getRequestURI().getPath();
            String query = exchange.getRequestURI().getQuery();
            if (path.equals("/bytes") && query != null && query.startsWith("n=")) {
                body.readAllBytes();
                stream(exchange, Long.parseLong(query.substring(2)));
                return;
            }
            byte[] answer;
            if (path.equals("/echo")) {
                answer = body.readAllBytes();
            } else {
                body.readAllBytes();
                if (path.equals("/sleep") && query != null && query.startsWith("ms=")) sleep(Long.parseLong(query.substring(3)));
                answer = ("hello from " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
            }
            exchange.getResponseHeaders().set("X-Pid", Long.toString(ProcessHandle.current().pid()));
            if (draining) exchange.getResponseHeaders().set("Connection", "close");
            exchange.sendResponseHeaders(200, answer.length == 0 ? -1 : answer.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(answer);
            }
        }
    }

    private static void stream(HttpExchange exchange, long length) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'x');
        exchange.sendResponseHeaders(200, length == 0 ? -1 : length);
        try (OutputStream out = exchange.getResponseBody()) {
            for (long left = length; left > 0; left -= chunk.length) out.write(chunk, 0, (int) Math.min(chunk.length, left));
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
