import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The yardstick of bench/startup.sh: what examples/hello does to answer a request, on the plain
 * JDK and without herd-sdk. It binds its port, accepts on one thread and serves each connection
 * on a virtual thread with the same response, so that hello's start minus this one's is what
 * the SDK (and hello's own extras) cost. Run as {@code java -jar nosdk.jar PORT [reuseport]}.
 *
 * <p>It is also the yardstick of bench/handoff.sh's {@code PAIR=1}: two copies started with
 * {@code reuseport} share the port through SO_REUSEPORT, as a cluster made without herd would,
 * and measure what a second JVM costs on the machine. Like hello, it answers a request that
 * asks for {@code Connection: close} with that header and closes the connection: a benchmark of
 * one connection per request depends on it.
 */
public final class NoSdkHello {
    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nX-Herd-Worker: 0:" + ProcessHandle.current().pid() + "\r\n";
        byte[] response = (head + "\r\nhello world").getBytes(StandardCharsets.US_ASCII);
        byte[] closeResponse = (head + "Connection: close\r\n\r\nhello world").getBytes(StandardCharsets.US_ASCII);
        ServerSocketChannel server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        if (args.length > 1 && args[1].equals("reuseport")) server.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        server.bind(new InetSocketAddress("127.0.0.1", port), 1024);
        System.out.println("nosdk hello serving on 127.0.0.1:" + port);
        while (true) {
            SocketChannel connection = server.accept();
            Thread.startVirtualThread(() -> serve(connection, response, closeResponse));
        }
    }

    /** Answers every request head on the connection until the client leaves or asks to close. */
    private static void serve(SocketChannel connection, byte[] response, byte[] closeResponse) {
        ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
        try (connection) {
            while (connection.read(buffer) >= 0) {
                String received = new String(buffer.array(), 0, buffer.position(), StandardCharsets.ISO_8859_1);
                int end;
                while ((end = received.indexOf("\r\n\r\n")) >= 0) {
                    boolean close = received.substring(0, end).toLowerCase(Locale.ROOT).contains("\r\nconnection: close");
                    connection.write(ByteBuffer.wrap(close ? closeResponse : response));
                    if (close) return;
                    received = received.substring(end + 4);
                }
                buffer.clear();
                buffer.put(received.getBytes(StandardCharsets.ISO_8859_1));
            }
        } catch (IOException gone) {
            // the client left
        }
    }
}
