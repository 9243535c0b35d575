package io.herd.service;

import io.herd.engine.WorkerInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * Leaks: 200,000 handoffs (-Dherd.leak.handoffs) and 500 worker restarts (-Dherd.leak.restarts)
 * through a master in this JVM; its descriptors, threads and heap after GC must come back to
 * where they were.
 */
@Timeout(900)
class LeakTest {
    private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private record Usage(long descriptors, int threads, long heapBytes) {
        static Usage now() throws IOException {
            System.gc();
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                // herd's own threads: the JDK's pools (process reapers, carriers) keep idle threads a while by design.
                int herdThreads = (int) Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("herd-")).count();
                return new Usage(fds.count(), herdThreads, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
            }
        }

        @Override
        public String toString() {
            return descriptors + " descriptors, " + threads + " herd threads, " + heapBytes / 1024 + " KiB heap";
        }
    }

    @Test
    void handoffsAndRestartsLeaveDescriptorsThreadsAndHeapWhereTheyWere() throws Exception {
        long handoffs = Long.getLong("herd.leak.handoffs", 200_000);
        int restarts = Integer.getInteger("herd.leak.restarts", 500);
        try (HelloCluster herd = HelloCluster.start(2, Map.of("min.uptime", "0ms", "restart.delay", "10ms", "restart.backoff", "10ms", "restart.delay.max", "10ms"))) {
            herd.awaitInfo(info -> info.online() == 2);
            connectionPerRequest(herd.port, 2_000); // warm-up: every path taken once
            Usage before = settled(herd);

            long served = connectionPerRequest(herd.port, handoffs);
            int restarted = 0;
            while (restarted < restarts) {
                List<WorkerInfo> victims = herd.cluster.info().workers();
                for (WorkerInfo victim : victims) ProcessHandle.of(victim.pid()).ifPresent(ProcessHandle::destroyForcibly);
                restarted += victims.size();
                herd.awaitInfo(info -> info.online() == 2 && info.workers().stream().noneMatch(w -> victims.stream().anyMatch(v -> v.pid() == w.pid())));
            }
            assertThat(connectionPerRequest(herd.port, 100), is(100L)); // and it still serves
            Usage after = settled(herd);

            Figures.record("leaks", String.format("%,d handoffs and %d worker restarts: before %s; after %s", served, restarted, before, after));
            assertThat(served, is(handoffs));
            assertThat("descriptors", after.descriptors(), lessThanOrEqualTo(before.descriptors() + 2));
            assertThat("herd's threads", after.threads(), is(before.threads()));
            assertThat("heap after GC, KiB", after.heapBytes() / 1024, lessThanOrEqualTo(before.heapBytes() / 1024 + 8 * 1024));
        }
    }

    /** Usage once both workers are online with no connection open and the thread count has stopped falling. */
    private static Usage settled(HelloCluster herd) throws Exception {
        herd.awaitInfo(info -> info.online() == 2 && info.open() == 0 && info.workers().size() == 2);
        Usage usage = Usage.now();
        for (int i = 0; i < 50; i++) { // exited workers' output pumps and IPC readers wind down
            Thread.sleep(100);
            Usage next = Usage.now();
            if (next.threads() == usage.threads() && next.descriptors() == usage.descriptors()) return next;
            usage = next;
        }
        return usage;
    }

    /** {@code count} requests, one connection each, from 4 threads; returns how many got an answer. */
    private static long connectionPerRequest(int port, long count) throws InterruptedException {
        AtomicLong left = new AtomicLong(count);
        AtomicLong answered = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                byte[] buffer = new byte[4096];
                while (left.getAndDecrement() > 0) {
                    try (Socket socket = new Socket("127.0.0.1", port)) {
                        socket.setSoTimeout(30_000);
                        socket.getOutputStream().write(REQUEST);
                        InputStream in = socket.getInputStream();
                        int total = 0;
                        for (int n; (n = in.read(buffer)) >= 0; ) total += n;
                        if (total > 0) answered.incrementAndGet();
                    } catch (IOException e) {
                        // counted by its absence from answered
                    }
                }
            }));
        }
        for (Thread thread : threads) thread.join();
        return answered.get();
    }
}
