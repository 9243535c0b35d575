package io.herd.testapp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An app with no herd code at all, for proxy dispatch: it listens on its first argument's port, else
 * on {@code PORT} (loopback), and
 * echoes every byte of every connection back; at the client's end of stream it finishes writing,
 * then closes. With {@code ECHO_NEVER_LISTEN_IF=<file>} and that file present, it never opens its
 * port (a broken release).
 *
 * <p>For tests of a port another process takes: {@code ECHO_PORTS_FILE=<file>} appends a line
 * {@code <port> <pid>} to the file at each launch; with {@code ECHO_SILENT_FIRST_LAUNCH=true} too,
 * the launch that writes its first line never opens its port (so the test can). With
 * {@code ECHO_CLOSE_PORT_IF=<file>}, once that file appears it closes its port, deletes the file
 * (so the test knows, and a later launch listens normally) and lives on without a port.
 */
public final class Echo {
    public static void main(String[] args) throws Exception {
        String never = System.getenv("ECHO_NEVER_LISTEN_IF");
        if (never != null && Files.exists(Path.of(never))) {
            Thread.sleep(Long.MAX_VALUE);
        }
        int port = Integer.parseInt(args.length > 0 ? args[0] : System.getenv("PORT"));
        String portsFile = System.getenv("ECHO_PORTS_FILE");
        if (portsFile != null && publish(Path.of(portsFile), port) == 1 && Boolean.parseBoolean(System.getenv("ECHO_SILENT_FIRST_LAUNCH"))) {
            Thread.sleep(Long.MAX_VALUE);
        }
        try (ServerSocket server = new ServerSocket(port, 128, InetAddress.getLoopbackAddress())) {
            String closeIf = System.getenv("ECHO_CLOSE_PORT_IF");
            if (closeIf != null) Thread.ofPlatform().daemon().start(() -> closeOnceThere(server, Path.of(closeIf)));
            while (true) {
                Socket socket;
                try {
                    socket = server.accept();
                } catch (SocketException closed) {
                    if (server.isClosed()) break;
                    throw closed;
                }
                Thread.ofVirtual().start(() -> echo(socket));
            }
        }
        Thread.sleep(Long.MAX_VALUE); // its port closed: it lives on without one
    }

    /** Appends {@code <port> <pid>}; returns which launch this is (the file's line count). */
    private static int publish(Path file, int port) throws IOException {
        Files.writeString(file, port + " " + ProcessHandle.current().pid() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return Files.readAllLines(file).size();
    }

    private static void closeOnceThere(ServerSocket server, Path trigger) {
        try {
            while (!Files.exists(trigger)) Thread.sleep(20);
            server.close();
            Files.delete(trigger);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
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
