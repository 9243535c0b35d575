package io.herd.testapp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
 * {@code ECHO_CLOSE_PORT_IF=<file>}, once that file appears holding its port number, it closes its
 * port, deletes the file (so the test knows) and lives on without a port. With
 * {@code ECHO_REUSE_PORT=true} it binds with SO_REUSEPORT: another socket of the same user may then
 * listen on its port beside it.
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
        try (ServerSocket server = new ServerSocket()) {
            if (Boolean.parseBoolean(System.getenv("ECHO_REUSE_PORT"))) server.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
            String closeIf = System.getenv("ECHO_CLOSE_PORT_IF");
            if (closeIf != null) Thread.ofPlatform().daemon().start(() -> closeOnceNamed(server, Path.of(closeIf), port));
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

    private static void closeOnceNamed(ServerSocket server, Path trigger, int port) {
        try {
            while (!Integer.toString(port).equals(readIfThere(trigger))) Thread.sleep(20);
            server.close();
            Files.delete(trigger);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String readIfThere(Path file) throws IOException {
        try {
            return Files.readString(file).strip();
        } catch (NoSuchFileException notYet) {
            return "";
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
