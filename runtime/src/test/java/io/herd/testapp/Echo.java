package io.herd.testapp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An app with no herd code at all, for proxy dispatch: it listens on its first argument's port, else
 * on {@code PORT} (loopback), and
 * echoes every byte of every connection back; at the client's end of stream it finishes writing,
 * then closes. With {@code ECHO_NEVER_LISTEN_IF=<file>} and that file present, it never opens its
 * port (a broken release).
 */
public final class Echo {
    public static void main(String[] args) throws Exception {
        String never = System.getenv("ECHO_NEVER_LISTEN_IF");
        if (never != null && Files.exists(Path.of(never))) {
            Thread.sleep(Long.MAX_VALUE);
        }
        int port = Integer.parseInt(args.length > 0 ? args[0] : System.getenv("PORT"));
        try (ServerSocket server = new ServerSocket(port, 128, InetAddress.getLoopbackAddress())) {
            while (true) {
                Socket socket = server.accept();
                Thread.ofVirtual().start(() -> echo(socket));
            }
        }
    }

    private static void echo(Socket socket) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            byte[] buffer = new byte[64 * 1024];
            for (int count; (count = in.read(buffer)) >= 0; ) out.write(buffer, 0, count);
            socket.shutdownOutput();
        } catch (IOException ignored) {
            // the client went away
        }
    }
}
