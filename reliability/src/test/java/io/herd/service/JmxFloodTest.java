package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * The JMX connector under a flood of connections that never say a word: RMI serves each
 * connection on a thread of its own, before any login, so without a bound 2,000 such connections
 * were 2,000 threads in the service. Now at most {@link JdkServerLimits#RMI_MAX_THREADS}.
 */
@Timeout(120)
class JmxFloodTest {
    private static final int FLOOD = 200;

    @TempDir
    Path home;

    @Test
    void idleConnectionsCannotMultiplyTheServicesThreads() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path config = ServiceProcess.helloConfig(home, 1, "herd.jmx.port = " + port);
        List<Socket> flood = new ArrayList<>();
        try (ServiceProcess herd = ServiceProcess.start(home, config, false)) {
            herd.port("hello");
            herd.awaitOutput("JMX connector on", 1);
            for (int i = 0; i < FLOOD; i++) flood.add(new Socket(InetAddress.getLoopbackAddress(), port));
            long pid = herd.process.pid();
            Await.until("the flood to reach the service's RMI transport", () -> threadsNamed(pid, "RMI TCP Connect"),
                    threads -> threads >= JdkServerLimits.RMI_MAX_THREADS, Duration.ofSeconds(30));
            long rmiThreads = 0; // the most seen while the rest of the flood arrives
            for (int look = 0; look < 20; look++, Thread.sleep(50)) rmiThreads = Math.max(rmiThreads, threadsNamed(pid, "RMI TCP Connect"));
            Figures.record("JMX flood", FLOOD + " idle connections to the JMX port: " + rmiThreads + " RMI connection threads in the service");
            assertThat("RMI connection threads with " + FLOOD + " idle connections open", rmiThreads,
                    lessThanOrEqualTo((long) JdkServerLimits.RMI_MAX_THREADS));
        } finally {
            for (Socket socket : flood) socket.close();
        }
    }

    /** Threads of process {@code pid} whose name (as the kernel keeps it: 15 characters) starts with {@code prefix}. */
    private static long threadsNamed(long pid, String prefix) throws IOException {
        long count = 0;
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    if (Files.readString(task.resolve("comm")).startsWith(prefix)) count++;
                } catch (IOException ended) {
                    // the thread ended meanwhile
                }
            }
        }
        return count;
    }
}
