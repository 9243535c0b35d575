package io.herd.service;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A deliberately plain HTTP/1.1 client for the tests: one request on a new connection with
 * {@code Connection: close} (the JDK's HttpClient may not set that header), read to the end.
 */
record Http(int status, Map<String, String> headers, String body) {

    static Http get(int port, String path) throws IOException {
        try (Sent request = send(port, path)) {
            return request.response();
        }
    }

    /** Sends {@code request} as it is (a whole request, head and body, or a broken one) on a new connection, and reads the answer to its end. */
    static Http raw(int port, String request) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return parse(socket.getInputStream());
        }
    }

    /** Sends the request; the response is read when asked for. */
    static Sent send(int port, String path) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new Sent(socket);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /** A request on its way. */
    record Sent(Socket socket) implements AutoCloseable {
        int localPort() {
            return socket.getLocalPort();
        }

        Http response() throws IOException {
            return parse(socket.getInputStream());
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** True when the peer closed: the stream ends (or is reset) without a byte of answer. */
    static boolean closedByPeer(InputStream in) {
        try {
            return in.read() == -1;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private static Http parse(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        in.transferTo(all);
        String text = all.toString(StandardCharsets.ISO_8859_1);
        int headEnd = text.indexOf("\r\n\r\n");
        if (headEnd < 0) throw new IOException("no HTTP response, got: '" + text + "'");
        String[] lines = text.substring(0, headEnd).split("\r\n");
        Map<String, String> headers = new TreeMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
        return new Http(Integer.parseInt(lines[0].split(" ")[1]), headers, text.substring(headEnd + 4));
    }

    String worker() {
        return headers.get("x-herd-worker");
    }
}
