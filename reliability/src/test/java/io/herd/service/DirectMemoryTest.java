package io.herd.service;

import io.herd.service.cli.CliRunner;
import org.jolokia.json.JSONObject;
import org.jolokia.json.parser.JSONParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;

/**
 * The master's direct memory, where the relay keeps its buffers (32 KiB, up to two per relayed
 * connection), run short on purpose: the service at {@code -XX:MaxDirectMemorySize=1m} (32
 * buffers) in proxy dispatch, and 64 slow readers — clients that ask for a large download and
 * never read, so each holds a relay buffer full.
 */
@Timeout(240)
class DirectMemoryTest {
    private static final String DIRECT_MEMORY = "-XX:MaxDirectMemorySize=1m";
    private static final int SLOW_READERS = 64;
    private static final Duration EXIT_LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path home;

    /** proxy.max.connections = 8: 8 × 64 KiB at worst, well within the 1 MiB. */
    @Test
    void connectionsPastTheLimitAreRefusedAndCountedAndTheServiceServesAgainOnceTheSlowReadersGo() throws Exception {
        int limit = 8;
        try (ServiceProcess herd = ServiceProcess.start(home, config(limit), false, DIRECT_MEMORY)) {
            int port = herd.port("plain");
            herd.awaitOutput("-> online", 2);
            assertThat(Http.get(port, "/").status(), is(200));

            List<SocketChannel> slowReaders = new ArrayList<>();
            try {
                for (int i = 0; i < SLOW_READERS; i++) slowReaders.add(slowReader(port));
                JSONObject stats = awaitStats(herd, seen -> seen.get("refused").equals((long) SLOW_READERS - limit)
                        && seen.get("open").equals((long) limit));
                assertThat("refused, of " + SLOW_READERS + " slow readers: " + stats, stats.get("refused"), is((long) SLOW_READERS - limit));
                assertThat("relayed and held open: " + stats, stats.get("open"), is((long) limit));
                assertThat("the service is alive", herd.process.isAlive(), is(true));
                assertThat("list shows the refused count too", herd(herd, "list").out(), containsString("REFUSED"));
            } finally {
                for (SocketChannel slow : slowReaders) slow.close();
            }
            awaitStats(herd, seen -> seen.get("open").equals(0L));
            assertThat("serves again once the slow readers are gone", Http.get(port, "/").status(), is(200));
            assertThat(herd.process.isAlive(), is(true));
            assertThat(herd.output(), containsString("refused a connection"));
            Figures.record("direct memory, bounded", "MaxDirectMemorySize=1m, proxy.max.connections=" + limit + ", " + SLOW_READERS
                    + " slow readers: " + (SLOW_READERS - limit) + " refused and counted, " + limit + " relayed; the service lived on and served again");
        }
    }

    /** proxy.max.connections = 1000: 64 slow readers need 2 MiB of relay buffers, twice what there is. */
    @Test
    void outOfDirectMemoryTheServiceSaysItIsFatalAndExitsNonZeroLeavingNoWorker() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, config(1000), false, DIRECT_MEMORY)) {
            int port = herd.port("plain");
            herd.awaitOutput("-> online", 2);
            List<ProcessHandle> workers = herd.workers();
            assertThat(workers, hasSize(2));

            List<SocketChannel> slowReaders = new ArrayList<>();
            long exitNanos;
            try {
                long start = System.nanoTime();
                for (int i = 0; i < SLOW_READERS && herd.process.isAlive(); i++) slowReaders.add(slowReader(port));
                int exit = herd.waitFor(EXIT_LIMIT);
                exitNanos = System.nanoTime() - start;
                assertThat("exit status:\n" + herd.output(), exit, is(ExitOnFatalError.EXIT_CODE));
            } finally {
                for (SocketChannel slow : slowReaders) slow.close();
            }
            assertThat(herd.output(), allOf(containsString("FATAL: java.lang.OutOfMemoryError"), containsString("direct buffer memory"),
                    containsString("in thread herd-relay-0")));
            assertThat("the log says it too", Files.readString(home.resolve("logs").resolve("herd.log")), containsString("FATAL"));
            assertThat("workers left running", workers.stream().filter(worker -> ServiceProcess.running(worker.pid())).toList(), is(empty()));
            // restarts too: a worker that exits as the service goes down is not started again, to outlive it
            assertThat("any worker of this service still running", herd.workersAnywhere(), is(empty()));
            Figures.record("direct memory, exhausted", "MaxDirectMemorySize=1m, proxy.max.connections=1000, " + SLOW_READERS
                    + " slow readers: the relay ran out of direct memory; FATAL logged, both workers stopped, exit status "
                    + ExitOnFatalError.EXIT_CODE + " " + exitNanos / 1_000_000 + " ms after the first slow reader connected");
        }
    }

    private Path config(int maxConnections) throws Exception {
        return ServiceProcess.plainConfig(home, 2, """
                herd.jolokia.password.file = %s
                app.plain.kill.timeout = 2s
                app.plain.proxy.max.connections = %d
                """.formatted(home.resolve("jolokia.password"), maxConnections));
    }

    /**
     * A client that asks for a gigabyte and never reads, with a small receive buffer: the worker's
     * answer backs up into the master, which keeps a relay buffer full for it.
     */
    private static SocketChannel slowReader(int port) throws IOException {
        SocketChannel channel = SocketChannel.open();
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
            channel.connect(new InetSocketAddress("127.0.0.1", port));
            channel.write(ByteBuffer.wrap("GET /bytes?n=1000000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            return channel;
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    private CliRunner.Run herd(ServiceProcess herd, String... args) throws InterruptedException {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--url", herd.jolokiaUrl(), "--password-file", home.resolve("jolokia.password").toString()));
        return CliRunner.run(all.toArray(String[]::new));
    }

    /** The app's stats as {@code herd stats plain --json} prints them, once {@code condition} holds (bounded: 30 s). */
    private JSONObject awaitStats(ServiceProcess herd, java.util.function.Predicate<JSONObject> condition) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        JSONObject stats;
        do {
            CliRunner.Run run = herd(herd, "stats", "plain", "--json");
            assertThat(run.err(), run.exit(), is(0));
            stats = new JSONParser().parse(run.out(), JSONObject.class);
            if (condition.test(stats)) return stats;
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("the stats never got there: " + stats + "\n" + herd.output());
    }
}
