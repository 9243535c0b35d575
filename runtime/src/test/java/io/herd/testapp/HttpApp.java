package io.herd.testapp;

import io.herd.HerdWorker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tiny HTTP/1.1 server for the health check tests, one request per connection. {@code GET /}
 * (any path but the health path) answers 200 with {@code <instance> <pid>}. {@code GET /healthz}
 * answers as the file {@code $HTTPAPP_DIR/health-<pid>} says, if it exists: its text is a
 * pattern, one character per health request, cycled — {@code P} 200, {@code F} 503, {@code H}
 * hang (never answer; the connection stays open). Without it, {@code $HTTPAPP_DIR/health-all} says
 * so for every worker; without either: 200. Every health request
 * is appended to {@code $HTTPAPP_DIR/seen-<pid>} as one line: the request line, then the Host,
 * User-Agent and Connection headers, then the remote address, separated by {@code |}.
 *
 * <p>It takes connections as real servers do: TCP_NODELAY on, the remote address read. Handoff
 * dispatch (herd's SDK) unless {@code PORT} is set; then it listens on that loopback port. In
 * handoff dispatch, while {@code $HTTPAPP_DIR/stuck-<pid>} exists it takes no connection after
 * the one it took last, as a stuck app would not: herd's handoffs to it stay unacknowledged.
 */
public final class HttpApp {
    private static final AtomicLong HEALTH_REQUESTS = new AtomicLong();
    private static final long PID = ProcessHandle.current().pid();
    private static Path dir;
    private static String instance;

    public static void main(String[] args) throws Exception {
        dir = Path.of(System.getenv("HTTPAPP_DIR"));
        instance = System.getenv().getOrDefault("HERD_INSTANCE", "0");
        String port = System.getenv("PORT");
        if (port != null) {
            try (ServerSocket server = new ServerSocket()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(port)), 128);
                while (true) {
                    Socket socket = server.accept();
                    Thread.ofVirtual().start(() -> serve(socket));
                }
            }
        }
        HerdWorker worker = HerdWorker.start(new InetSocketAddress("127.0.0.1", 0));
        worker.ready();
        try {
            while (true) {
                SocketChannel channel = worker.accept();
                Thread.ofVirtual().start(() -> serve(channel.socket()));
                while (Files.exists(dir.resolve("stuck-" + PID))) Thread.sleep(50);
            }
        } catch (ClosedChannelException stopping) {
            // herd asked the worker to stop: it takes no more connections
        }
    }

    private static void serve(Socket socket) {
        try (socket) {
            socket.setOption(StandardSocketOptions.TCP_NODELAY, true); // fails on anything but TCP
            String remote = socket.getRemoteSocketAddress().toString();
            String head = readHead(socket.getInputStream());
            String[] lines = head.split("\r\n");
            String path = lines[0].split(" ")[1].split("\\?")[0];
            OutputStream out = socket.getOutputStream();
            if (!path.equals("/healthz")) {
                answer(out, 200, instance + " " + PID + "\n");
                return;
            }
            long n = HEALTH_REQUESTS.getAndIncrement();
            Files.writeString(dir.resolve("seen-" + PID), String.join("|", lines[0], header(lines, "Host"), header(lines, "User-Agent"),
                    header(lines, "Connection"), remote) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            Path healthFile = dir.resolve("health-" + PID);
            if (!Files.exists(healthFile)) healthFile = dir.resolve("health-all");
            String pattern = Files.exists(healthFile) ? Files.readString(healthFile).strip() : "P";
            switch (pattern.charAt((int) (n % pattern.length()))) {
                case 'H' -> Thread.sleep(Long.MAX_VALUE);
                case 'F' -> answer(out, 503, "unwell\n");
                default -> answer(out, 200, "ok\n");
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // the client left, or sent no HTTP
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (head.size() < 8192) {
            int b = in.read();
            if (b < 0) throw new IOException("closed before the end of the request's head");
            head.write(b);
            String text = head.toString(StandardCharsets.ISO_8859_1);
            if (text.endsWith("\r\n\r\n")) return text.strip();
        }
        throw new IOException("request head too long");
    }

    private static String header(String[] lines, String name) {
        for (String line : lines) {
            if (line.regionMatches(true, 0, name + ":", 0, name.length() + 1)) return line.substring(name.length() + 1).strip();
        }
        return "";
    }

    private static void answer(OutputStream out, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.US_ASCII);
        out.write(("HTTP/1.1 " + status + (status == 200 ? " OK" : " Service Unavailable") + "\r\nContent-Length: " + bytes.length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
    }
}
