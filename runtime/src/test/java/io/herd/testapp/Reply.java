package io.herd.testapp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** What a {@link WhoAmI} worker answered, and the client side that asks it. */
public record Reply(int instance, long pid, String clientAddressSeen, String clientAddress) {

    /** One question on a new connection, closed after the answer. */
    public static Reply ask(int port) throws IOException {
        try (Asker asker = new Asker(port)) {
            return asker.ask();
        }
    }

    /** A client connection that can ask many times (keep-alive). */
    public static final class Asker implements AutoCloseable {
        private final Socket socket = new Socket();
        private final BufferedReader in;
        private final OutputStream out;

        public Asker(int port) throws IOException {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            socket.setSoTimeout(20_000);
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            out = socket.getOutputStream();
        }

        public Reply ask() throws IOException {
            out.write("who?\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String line = in.readLine();
            if (line == null) throw new IOException("connection closed without an answer");
            String[] parts = line.split(" ");
            return new Reply(Integer.parseInt(parts[0]), Long.parseLong(parts[1]), parts[2],
                    socket.getLocalSocketAddress().toString());
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
