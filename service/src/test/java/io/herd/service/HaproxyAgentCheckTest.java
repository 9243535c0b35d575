package io.herd.service;

import io.herd.mbeans.ServiceMXBean;
import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.management.JMX;
import javax.management.ObjectName;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The agent check as a real HAProxy reads it: each of herd's answers moves the server where it
 * should in HAProxy's own state (its stats socket says), and a serving answer takes it back from
 * an earlier drain or maint. Skipped, saying so, where no HAProxy is installed.
 */
@Timeout(180)
class HaproxyAgentCheckTest {
    private static final Path HAPROXY = Path.of("/usr/sbin/haproxy");
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private HerdService service;
    private Process haproxy;
    private Path statsSocket;

    @BeforeEach
    void start() throws Exception {
        assumeTrue(Files.isExecutable(HAPROXY), "no HAProxy at " + HAPROXY + " (apt-get install haproxy): the real agent check is not tried");
        Map<String, String> settings = new HashMap<>();
        settings.put("agent.listen", "127.0.0.1:0");
        settings.put("listen", "127.0.0.1:" + freePort()); // one port for good: startApp binds it again, where HAProxy checks
        settings.put("herd.drain.delay", "3s"); // HAProxy checks every 200 ms: it hears the drain well within
        // A killed worker comes back only after an hour: the test sees the share online drop.
        settings.put("restart.delay", "1h");
        settings.put("restart.delay.max", "1h");
        service = new HerdService(HelloCluster.config(2, settings));
        service.prepare();
        service.start();
        statsSocket = dir.resolve("haproxy.sock");
        Path config = Files.writeString(dir.resolve("haproxy.cfg"), """
                global
                    stats socket %s mode 600 level admin
                defaults
                    mode http
                    timeout connect 1s
                    timeout client 5s
                    timeout server 5s
                backend be
                    server h1 127.0.0.1:%d check inter 200ms fall 2 rise 1 agent-check agent-port %d agent-inter 200ms agent-send "be/h1\\n" weight 100
                """.formatted(statsSocket, service.master().addresses("hello").getFirst().getPort(), service.agents().address("hello").getPort()));
        haproxy = new ProcessBuilder(HAPROXY.toString(), "-db", "-f", config.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("haproxy.out").toFile()).start();
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (haproxy != null) {
            haproxy.destroy();
            if (!haproxy.waitFor(10, TimeUnit.SECONDS)) haproxy.destroyForcibly();
        }
        if (service != null) {
            service.skipDrain();
            service.stop();
        }
    }

    /** Server h1 as HAProxy's stats show it: "status weight", e.g. "UP 100", "DRAIN (agent) 50", "MAINT 100". */
    private String h1() throws IOException {
        if (!Files.exists(statsSocket)) return "no stats socket yet";
        try (SocketChannel stats = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            stats.connect(UnixDomainSocketAddress.of(statsSocket));
            stats.write(StandardCharsets.US_ASCII.encode("show stat\n"));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            ByteBuffer buffer = ByteBuffer.allocate(8192);
            while (stats.read(buffer.clear()) > 0) all.write(buffer.array(), 0, buffer.position());
            List<String> lines = all.toString(StandardCharsets.US_ASCII).lines().toList();
            List<String> header = List.of(lines.getFirst().replaceFirst("^# ", "").split(","));
            for (String line : lines.subList(1, lines.size())) {
                String[] fields = line.split(",", -1);
                if (fields.length > 1 && fields[1].equals("h1")) {
                    return fields[header.indexOf("status")] + " " + fields[header.indexOf("weight")];
                }
            }
            return "no h1 in: " + lines;
        }
    }

    private void awaitH1(String state) throws InterruptedException {
        Await.until("HAProxy's h1 to be " + state, this::h1, state::equals, LIMIT);
    }

    @Test
    void haproxyFollowsTheWeightTheDrainAndTheStopAndTakesTheServerBack() throws Exception {
        awaitH1("UP 100");
        ProcessHandle.of(service.master().cluster("hello").info().workers().getFirst().pid()).orElseThrow().destroyForcibly();
        awaitH1("UP 50");

        ServiceMXBean herd = JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(), new ObjectName("herd:type=Service"), ServiceMXBean.class);
        CompletableFuture<String> stopping = CompletableFuture.supplyAsync(() -> herd.stopApp("hello"));
        awaitH1("DRAIN (agent) 50");
        stopping.get(60, TimeUnit.SECONDS);
        awaitH1("MAINT 50");

        herd.startApp("hello");
        awaitH1("UP 100"); // 'ready' ended the maintenance, the weight is back

        CompletableFuture<Void> serviceStopping = CompletableFuture.runAsync(() -> {
            try {
                service.stop();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        awaitH1("DRAIN (agent) 100");
        serviceStopping.get(60, TimeUnit.SECONDS);
    }
}
