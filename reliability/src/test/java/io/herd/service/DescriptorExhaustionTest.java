package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;

/**
 * The master out of file descriptors: proxy dispatch (two descriptors per relayed connection) at
 * a limit of 256, flooded with 1,000 idle connections.
 */
@Timeout(180)
class DescriptorExhaustionTest {
    private static final int LIMIT = 256;
    private static final int FLOOD = 1_000;

    @TempDir
    Path home;

    @Test
    void aFloodPastTheDescriptorLimitCostsNoBusyLoopAndServiceResumesWhenItEnds() throws Exception {
        Path config = ServiceProcess.plainConfig(home, 2, "");
        try (ServiceProcess herd = ServiceProcess.startWithDescriptorLimit(home, config, LIMIT)) {
            int port = herd.port("plain");
            herd.awaitOutput("-> online", 2);
            assertThat(Http.get(port, "/").status(), is(200));

            List<SocketChannel> flood = new ArrayList<>();
            try {
                for (int i = 0; i < FLOOD; i++) flood.add(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)));
                herd.awaitOutput("accept failed", 1); // out of descriptors
                Thread.sleep(2_000); // past the start-up's compiling
                long before = cpuTicks(herd.process.pid());
                Thread.sleep(3_000);
                long ticks = cpuTicks(herd.process.pid()) - before;
                Figures.record("descriptor exhaustion", "master at ulimit -n " + LIMIT + ", " + FLOOD + " idle connections (proxy dispatch): "
                        + ticks + " CPU ticks (1/100 s) over 3 s while out of descriptors; "
                        + herd.output().lines().filter(l -> l.contains("accept failed")).count() + " accept-error log line(s)");
                assertThat("CPU ticks in 3 s out of descriptors (a busy accept loop takes ~300)", ticks, lessThan(90L));
            } finally {
                for (SocketChannel channel : flood) channel.close();
            }
            assertThat("serves again once the flood is gone", answersWithin(port, 200), is(true));
        }
    }

    /** Tries GET / up to {@code attempts} times, 100 ms apart. */
    private static boolean answersWithin(int port, int attempts) throws InterruptedException {
        for (int i = 0; i < attempts; i++) {
            try {
                if (Http.get(port, "/").status() == 200) return true;
            } catch (IOException notYet) {
                // descriptors are still being released
            }
            Thread.sleep(100);
        }
        return false;
    }

    /** utime + stime of a process, in clock ticks. */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }
}
