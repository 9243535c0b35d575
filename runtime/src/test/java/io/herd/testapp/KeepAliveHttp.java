package io.herd.testapp;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A hand-written keep-alive HTTP/1.1 server with no herd code and no shutdown handling at all (at
 * SIGTERM its JVM just exits, cutting whatever is open), for proxy dispatch with proxy.http. It
 * listens on its first argument's port, else on {@code PORT} (loopback), and serves each
 * connection's requests one after the other, pipelined ones too:
 *
 * <ul>
 *   <li>{@code GET /} (or {@code HEAD /}): "hello from &lt;pid&gt;\n", with Content-Length, and the pid in {@code X-Pid};</li>
 *   <li>{@code GET /chunked?n=N}: {@link #chunkedResponse N chunks}, with extensions and a trailer;</li>
 *   <li>{@code GET /204}: 204 No Content;</li>
 *   <li>{@code POST /echo}: the body (by Content-Length) back;</li>
 *   <li>{@code GET /upgrade}: 101 Switching Protocols, then every byte echoed;</li>
 *   <li>{@code GET /garbage}: bytes that are not HTTP, then every byte echoed;</li>
 *   <li>a first line that is not an HTTP request line: that line, then every byte, echoed.</li>
 * </ul>
 * A request with {@code Connection: close} gets it back and the connection is closed after.
 */
public final class KeepAliveHttp {
    /** What {@code GET /garbage} answers before it echoes: not HTTP. */
    public static final String GARBAGE = "HTTP/1.1 2OO OK\r\nno colon in this line\r\n\r\n";

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args.length > 0 ? args[0] : System.getenv("PORT"));
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
            while (true) {
                Socket socket = server.accept();
                Thread.ofVirtual().start(() -> serve(socket));
            }
        }
    }

    /** The whole answer to {@code GET /chunked?n=chunks} from process {@code pid}, byte for byte. */
    public static byte[] chunkedResponse(int chunks, long pid) {
        StringBuilder response = new StringBuilder("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Pid: " + pid + "\r\n\r\n");
        for (int i = 1; i <= chunks; i++) {
            String data = "chunk " + i + " of " + chunks + " from " + pid + "\n";
            response.append(Integer.toHexString(data.length())).append(i % 2 == 0 ? ";even=yes" : "").append("\r\n").append(data).append("\r\n");
        }
        return response.append("0\r\nX-Chunks: ").append(chunks).append("\r\n\r\n").toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void serve(Socket socket) {
        long pid = ProcessHandle.current().pid();
        try (socket) {
            socket.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            while (true) {
                byte[] firstLine = line(in);
                if (firstLine == null) return;
                String requestLine = ascii(firstLine).strip();
                String[] parts = requestLine.split(" ");
                if (parts.length != 3 || !parts[0].matches("[A-Z]+") || !parts[2].matches("HTTP/1\\.[01]")) {
                    out.write(firstLine);
                    echo(in, out);
                    return;
                }
                long length = 0;
                boolean close = false;
                for (String field; !(field = ascii(fieldLine(in)).strip()).isEmpty(); ) {
                    String lower = field.toLowerCase(Locale.ROOT);
                    if (lower.startsWith("content-length:")) length = Long.parseLong(lower.substring(15).strip());
                    if (lower.startsWith("connection:") && lower.contains("close")) close = true;
                }
                byte[] body = in.readNBytes((int) length);
                String method = parts[0];
                String target = parts[1];
                String closing = close ? "Connection: close\r\n" : "";
                switch (target.contains("?") ? target.substring(0, target.indexOf('?')) : target) {
                    case "/chunked" -> out.write(chunkedResponse(Integer.parseInt(target.substring(target.indexOf("n=") + 2)), pid));
                    case "/204" -> out.write(ascii("HTTP/1.1 204 No Content\r\nX-Pid: " + pid + "\r\n" + closing + "\r\n"));
                    case "/echo" -> respond(out, "200 OK", closing, body, method);
                    case "/upgrade" -> {
                        out.write(ascii("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"));
                        echo(in, out);
                        return;
                    }
                    case "/garbage" -> {
                        out.write(ascii(GARBAGE));
                        echo(in, out);
                        return;
                    }
                    case "/" -> respond(out, "200 OK", closing, ascii("hello from " + pid + "\n"), method);
                    default -> respond(out, "404 Not Found", closing, ascii("no " + target + "\n"), method);
                }
                out.flush();
                if (close) return;
            }
        } catch (IOException gone) {
            // the client left
        }
    }

    private static void respond(OutputStream out, String status, String closing, byte[] body, String method) throws IOException {
        out.write(ascii("HTTP/1.1 " + status + "\r\nContent-Length: " + body.length + "\r\nX-Pid: " + ProcessHandle.current().pid() + "\r\n"
                + closing + "\r\n"));
        if (!method.equals("HEAD")) out.write(body);
    }

    /** Echoes every byte until the client's end of stream. */
    private static void echo(InputStream in, OutputStream out) throws IOException {
        byte[] buffer = new byte[8192];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, n);
            out.flush();
        }
    }

    /** A line with its end (LF, and the CR before it if any); null at the end of stream before any byte. */
    private static byte[] line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) >= 0; ) {
            line.write(b);
            if (b == '\n' || line.size() > 64 * 1024) return line.toByteArray();
        }
        if (line.size() == 0) return null;
        return line.toByteArray();
    }

    private static byte[] fieldLine(InputStream in) throws IOException {
        byte[] line = line(in);
        if (line == null) throw new IOException("the client left within a head");
        return line;
    }

    private static String ascii(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }
}
