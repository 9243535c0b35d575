import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The yardstick of bench/startup.sh: what examples/hello does to answer a request, on the plain
 * JDK and without herd-sdk. It binds its port, accepts on one thread and serves each connection
 * on a virtual thread with the same response, so that hello's start minus this one's is what
 * the SDK (and hello's own extras) cost. Run as {@code java -jar nosdk.jar PORT}.
 */
public final class NoSdkHello {
    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nX-Herd-Worker: 0:" + ProcessHandle.current().pid() + "\r\n";
        byte[] response = (head + "\r\nhello world").getBytes(StandardCharsets.US_ASCII);
        ServerSocketChannel server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(new InetSocketAddress("127.0.0.1", port), 1024);
        System.out.println("nosdk hello serving on 127.0.0.1:" + port);
        while (true) {
            SocketChannel connection = server.accept();
            Thread.startVirtualThread(() -> serve(connection, response));
        }
    }

    /** Answers every request head on the connection (keep-alive) until the client leaves. */
    private static void serve(SocketChannel connection, byte[] response) {
        ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
        try (connection) {
            while (connection.read(buffer) >= 0) {
                String received = new String(buffer.array(), 0, buffer.position(), StandardCharsets.ISO_8859_1);
                int end;
                while ((end = received.indexOf("\r\n\r\n")) >= 0) {
                    connection.write(ByteBuffer.wrap(response));
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
