package io.herd.engine;

import io.herd.testapp.Echo;
import io.herd.testapp.KeepAliveHttp;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.zip.CRC32;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;

/** Proxy dispatch: the master relays the bytes of an app that has no herd code at all ({@link Echo}). */
@Timeout(180)
class ProxyTest {
    private static final long MiB = 1024 * 1024;

    static TestCluster echo(int instances, Map<String, String> settings) throws Exception {
        Map<String, String> values = new HashMap<>(Map.of("dispatch", "proxy", "main", Echo.class.getName(),
                "classpath", TestCluster.location(Echo.class)));
        values.putAll(settings);
        return TestCluster.start(instances, values);
    }

    @Test
    void anUnmodifiedAppIsRelayedRoundRobin() throws Exception {
        try (TestCluster herd = echo(2, Map.of())) {
            herd.awaitOnline(2);
            for (int i = 0; i < 10; i++) assertThat(exchange(herd.port, "hello " + i), is("hello " + i));

            ClusterInfo info = herd.awaitInfo(seen -> seen.open() == 0);
            assertThat(info.dispatch(), is("proxy"));
            assertThat(info.workers().stream().map(WorkerInfo::handedOff).toList(), everyItem(is(5L)));
            assertThat(info.workers().stream().mapToLong(WorkerInfo::bytesIn).sum(), is((long) exchangedBytes(10)));
            assertThat(info.workers().stream().mapToLong(WorkerInfo::bytesOut).sum(), is((long) exchangedBytes(10)));
        }
    }

    private static int exchangedBytes(int count) {
        int bytes = 0;
        for (int i = 0; i < count; i++) bytes += ("hello " + i).length();
        return bytes;
    }

    @Test
    void theWorkersPortStandsInForPortInItsArguments() throws Exception {
        try (TestCluster herd = echo(1, Map.of("args", "{port}"))) { // Echo would fail on a literal "{port}"
            herd.awaitOnline(1);
            assertThat(exchange(herd.port, "by argument"), is("by argument"));
        }
    }

    @Test
    void twoHundredMegabytesEachWayArriveIntactWhileTheMastersMemoryStaysBounded() throws Exception {
        try (TestCluster herd = echo(1, Map.of())) {
            herd.awaitOnline(1);
            long size = 200 * MiB;
            MemoryWatch memory = MemoryWatch.start();
            try (Socket socket = new Socket("127.0.0.1", herd.port)) {
                CompletableFuture<Long> sent = CompletableFuture.supplyAsync(() -> send(socket, size, 1));
                CRC32 received = new CRC32();
                long count = 0;
                InputStream in = socket.getInputStream();
                byte[] buffer = new byte[64 * 1024];
                for (int n; (n = in.read(buffer)) >= 0; count += n) received.update(buffer, 0, n);

                assertThat(count, is(size));
                assertThat(received.getValue(), is(sent.get(60, TimeUnit.SECONDS)));
            }
            memory.stop();
            assertThat("direct memory the relay held, in MiB", memory.maxDirect / MiB, lessThan(16L));
            assertThat("heap growth after GC, in MiB", memory.heapGrowth() / MiB, lessThan(32L));
            WorkerInfo worker = herd.awaitInfo(info -> info.open() == 0).workers().getFirst();
            assertThat(worker.bytesIn(), is(size));
            assertThat(worker.bytesOut(), is(size));
        }
    }

    @Test
    void aClientThatSendsAndNeverReadsIsHeldBackNotBuffered() throws Exception {
        try (TestCluster herd = echo(1, Map.of())) {
            herd.awaitOnline(1);
            MemoryWatch memory = MemoryWatch.start();
            try (SocketChannel client = SocketChannel.open(new InetSocketAddress("127.0.0.1", herd.port))) {
                client.configureBlocking(false);
                ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
                long written = 0;
                long stalledSince = 0;
                // Writes until the writes have stalled for a second: the relay stopped reading.
                while (written < 1024 * MiB) {
                    chunk.clear();
                    int n = client.write(chunk);
                    written += n;
                    if (n > 0) {
                        stalledSince = 0;
                    } else if (stalledSince == 0) {
                        stalledSince = System.nanoTime();
                    } else if (System.nanoTime() - stalledSince > 1_000_000_000L) {
                        break;
                    } else {
                        Thread.sleep(10);
                    }
                }
                memory.stop();
                assertThat("bytes taken before the writes stalled, in MiB", written / MiB, lessThan(128L));
                assertThat("direct memory the relay held, in MiB", memory.maxDirect / MiB, lessThan(16L));

                // Nothing was lost meanwhile: everything comes back once the client reads.
                client.configureBlocking(true);
                client.shutdownOutput();
                long echoed = 0;
                ByteBuffer in = ByteBuffer.allocate(64 * 1024);
                for (int n; (n = client.read(in.clear())) >= 0; ) echoed += n;
                assertThat(echoed, is(written));
            }
        }
    }

    @Test
    void aConnectionPastProxyMaxConnectionsIsRefusedAtOnceAndCounted() throws Exception {
        try (TestCluster herd = echo(1, Map.of("proxy.max.connections", "2"))) {
            herd.awaitOnline(1);
            try (Socket first = new Socket("127.0.0.1", herd.port); Socket second = new Socket("127.0.0.1", herd.port)) {
                assertThat(exchangeOn(first, "one"), is("one"));
                assertThat(exchangeOn(second, "two"), is("two"));
                try (Socket third = new Socket("127.0.0.1", herd.port)) {
                    assertThat("the third is closed unserved", closedUnserved(third), is(true));
                }
                assertThat(herd.info().refused(), is(1L));
                assertThat("the two open ones are served on", exchangeOn(first, "still"), is("still"));
            }
            herd.awaitInfo(info -> info.open() == 0);
            assertThat("room again once they closed", exchange(herd.port, "again"), is("again"));
            assertThat(herd.info().refused(), is(1L));
        }
    }

    /** True when the connection ends (end of stream, or reset) before a byte came: the master closed it unserved. */
    private static boolean closedUnserved(Socket socket) throws IOException {
        socket.setSoTimeout(10_000); // a relayed connection would wait for the echo of what was never sent: a timeout
        try {
            return socket.getInputStream().read() == -1;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    /**
     * A bug met while relaying one connection — here a log handler that throws at the line the
     * relay logs when a worker's port refuses it — ends that connection alone: it is closed, not
     * left open holding its descriptors and a place among proxy.max.connections.
     */
    @Test
    void aConnectionWhoseRelayMeetsABugIsClosedAndGivesBackItsPlace(@TempDir Path files) throws Exception {
        Path launches = files.resolve("launches");
        Path closePort = files.resolve("close-port");
        try (LogCapture log = LogCapture.of(Relay.class);
             FailingLogHandler bug = FailingLogHandler.onceOn(Relay.class, "did not take a relayed connection");
             TestCluster herd = echo(1, Map.of("env.ECHO_PORTS_FILE", launches.toString(), "env.ECHO_CLOSE_PORT_IF", closePort.toString(),
                     "proxy.max.connections", "1", "queue.timeout", "60s"))) {
            String broken = "";
            // The first client after the worker closes its port is refused there, and its relay meets
            // the bug; unless the periodic port check took the worker out first: then again with the next.
            for (int launch = 1; launch <= 3 && !bug.thrown(); launch++) {
                HijackedPortTest.Launch worker = HijackedPortTest.awaitLaunch(launches, launch, Duration.ofSeconds(60));
                herd.awaitOnline(1);
                HijackedPortTest.closePortOf(worker, closePort);
                broken = connectAndWait(herd.port, Duration.ofSeconds(10));
            }

            assertThat("the relay met the bug", bug.thrown(), is(true));
            assertThat(broken, is("closed"));
            Await.until("the relay's failure logged", log::warnings, lines -> lines.stream().anyMatch(line -> line.contains("failed; closed it")),
                    Duration.ofSeconds(10)); // logged once the connection is closed
            assertThat("the next client, in the only place", exchangeWithin(herd.port, "next", Duration.ofSeconds(60)), is("next"));
            herd.awaitInfo("no connection open", info -> info.open() == 0);
        }
    }

    /** Connects through the master and sends nothing: "closed" when the master closes it, "left open" when nothing comes within the limit. */
    private static String connectAndWait(int port, Duration limit) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout((int) limit.toMillis());
            return socket.getInputStream().read() < 0 ? "closed" : "answered";
        } catch (SocketTimeoutException nothing) {
            return "left open";
        }
    }

    @Test
    void aHalfCloseIsPassedThroughBothWays() throws Exception {
        try (TestCluster herd = echo(1, Map.of())) {
            herd.awaitOnline(1);
            try (Socket socket = new Socket("127.0.0.1", herd.port)) {
                socket.getOutputStream().write("half".getBytes(StandardCharsets.US_ASCII));
                socket.shutdownOutput(); // the app answers only once it sees the end of the request
                assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII), is("half"));
            }
        }
    }

    @Test
    void proxyProtocolV1TellsTheWorkerTheClientsAddress() throws Exception {
        try (TestCluster herd = echo(1, Map.of("proxy.protocol", "v1"))) {
            herd.awaitOnline(1);
            try (Socket socket = new Socket("127.0.0.1", herd.port)) {
                socket.getOutputStream().write('x');
                socket.shutdownOutput();
                String echoed = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertThat(echoed, is("PROXY TCP4 127.0.0.1 127.0.0.1 " + socket.getLocalPort() + " " + herd.port + "\r\nx"));
            }
        }
    }

    @Test
    void proxyProtocolV2TellsTheWorkerTheClientsAddress() throws Exception {
        try (TestCluster herd = echo(1, Map.of("proxy.protocol", "v2"))) {
            herd.awaitOnline(1);
            try (Socket socket = new Socket("127.0.0.1", herd.port)) {
                socket.shutdownOutput();
                ByteBuffer header = ByteBuffer.wrap(socket.getInputStream().readAllBytes());
                assertThat(header.remaining(), is(16 + 12));
                byte[] signature = new byte[12];
                header.get(signature);
                assertThat(new String(signature, 4, 8, StandardCharsets.ISO_8859_1), is("\0\r\nQUIT\n"));
                assertThat(header.get(), is((byte) 0x21)); // version 2, PROXY
                assertThat(header.get(), is((byte) 0x11)); // TCP over IPv4
                assertThat((int) header.getShort(), is(12));
                assertThat(header.getInt(), is(0x7f000001)); // from 127.0.0.1
                assertThat(header.getInt(), is(0x7f000001)); // to 127.0.0.1
                assertThat(Short.toUnsignedInt(header.getShort()), is(socket.getLocalPort()));
                assertThat(Short.toUnsignedInt(header.getShort()), is(herd.port));
            }
        }
    }

    @Test
    void anIdleConnectionIsClosedAfterTheIdleTimeout() throws Exception {
        try (TestCluster herd = echo(1, Map.of("proxy.idle.timeout", "300ms"))) {
            herd.awaitOnline(1);
            try (Socket socket = new Socket("127.0.0.1", herd.port)) {
                assertThat(exchangeOn(socket, "still here"), is("still here"));
                socket.setSoTimeout(30_000);
                assertThat("end of stream once idle", socket.getInputStream().read(), is(-1));
            }
        }
    }

    @Test
    void aDrainingWorkerKeepsItsOpenConnectionUntilItEnds() throws Exception {
        try (TestCluster herd = echo(1, Map.of("kill.timeout", "60s"))) {
            long old = herd.awaitOnline(1).workers().getFirst().pid();
            try (Socket socket = new Socket("127.0.0.1", herd.port)) {
                assertThat(exchangeOn(socket, "before"), is("before"));
                CompletableFuture<OperationResult> reload = CompletableFuture.supplyAsync(herd.cluster::reload);
                ClusterInfo draining = herd.awaitInfo("the old worker stopping",
                        info -> info.workers().stream().anyMatch(w -> w.pid() == old && w.state().equals("stopping")));
                assertThat(draining.online(), is(1)); // the replacement

                assertThat("the old worker still serves its connection", exchangeOn(socket, "during"), is("during"));
                socket.close(); // its last connection ends: now it is stopped
                OperationResult result = reload.get(60, TimeUnit.SECONDS);
                assertThat(result.toString(), result.succeeded(), is(true));
            }
            assertThat(ProcessHandle.of(old).map(ProcessHandle::isAlive).orElse(false), is(false));
            assertThat(exchange(herd.port, "after"), is("after"));
        }
    }

    @Test
    void aWorkerThatNeverOpensItsPortFailsTheReloadAndTheOldWorkersServe() throws Exception {
        Path broken = Files.createTempFile("herd-broken-release-", "");
        Files.delete(broken);
        try (TestCluster herd = echo(2, Map.of("env.ECHO_NEVER_LISTEN_IF", broken.toString(), "ready.timeout", "2s"))) {
            List<Long> old = herd.awaitOnline(2).workers().stream().map(WorkerInfo::pid).toList();
            Files.createFile(broken);

            OperationResult result = herd.cluster.reload();

            assertThat(result.succeeded(), is(false));
            assertThat(result.toString(), containsString("did not open its port"));
            ClusterInfo info = herd.awaitInfo(seen -> seen.workers().size() == 2);
            assertThat(info.workers().stream().map(WorkerInfo::pid).toList(), is(old));
            assertThat(info.online(), is(2));
            for (int i = 0; i < 4; i++) assertThat(exchange(herd.port, "still " + i), is("still " + i));
        } finally {
            Files.deleteIfExists(broken);
        }
    }

    // ---- proxy.http: a draining worker's keep-alive connections close between two responses

    static TestCluster keepAliveHttp(Map<String, String> settings) throws Exception {
        Map<String, String> values = new HashMap<>(Map.of("dispatch", "proxy", "proxy.http", "true", "main", KeepAliveHttp.class.getName(),
                "classpath", TestCluster.location(KeepAliveHttp.class), "kill.timeout", "60s"));
        values.putAll(settings);
        return TestCluster.start(1, values);
    }

    @Test
    void whileItsWorkerDrainsAKeepAliveConnectionGetsConnectionCloseOnItsNextResponseAndIsClosedAfterIt() throws Exception {
        try (TestCluster herd = keepAliveHttp(Map.of())) {
            Drain drain;
            try (Socket socket = httpClient(herd.port)) {
                drain = answeredThenDraining(herd, socket);
                HttpResponse during = askOn(socket, GET_ROOT);

                assertThat(during.status(), is("HTTP/1.1 200 OK"));
                assertThat(during.fields(), hasItem("Connection: close"));
                assertThat("the body, intact", during.body(), is("hello from " + drain.old() + "\n"));
                assertThat("closed by the master after that response", socket.getInputStream().read(), is(-1));
                drain.awaitEnd();
            }
            try (Socket socket = httpClient(herd.port)) {
                assertThat(askOn(socket, GET_ROOT).body(), is(not("hello from " + drain.old() + "\n")));
            }
        }
    }

    @Test
    void theAnswersToHeadAnd204AndToARequestBegunBeforeTheDrainCloseTheirConnectionsToo() throws Exception {
        try (TestCluster herd = keepAliveHttp(Map.of());
             Socket head = httpClient(herd.port); Socket noContent = httpClient(herd.port); Socket begun = httpClient(herd.port)) {
            long old = herd.awaitOnline(1).workers().getFirst().pid();
            for (Socket socket : List.of(head, noContent, begun)) askOn(socket, GET_ROOT); // all three relayed to the old worker
            begun.getOutputStream().write(ascii("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nhello"));

            Drain drain = reloadUntilDraining(herd, old);
            HttpResponse headAnswer = askOn(head, "HEAD / HTTP/1.1\r\nHost: test\r\n\r\n");
            HttpResponse noContentAnswer = askOn(noContent, "GET /204 HTTP/1.1\r\nHost: test\r\n\r\n");
            HttpResponse begunAnswer = askOn(begun, "world");

            assertThat(headAnswer.fields(), hasItems("Connection: close", "Content-Length: " + ("hello from " + old + "\n").length()));
            assertThat(noContentAnswer.status(), is("HTTP/1.1 204 No Content"));
            assertThat(noContentAnswer.fields(), hasItem("Connection: close"));
            assertThat("answered by the old worker", begunAnswer.fields(), hasItems("Connection: close", "X-Pid: " + old));
            assertThat(begunAnswer.body(), is("helloworld"));
            for (Socket socket : List.of(head, noContent, begun)) assertThat("closed after its answer", socket.getInputStream().read(), is(-1));
            drain.awaitEnd();
        }
    }

    @Test
    void aChunkedResponseArrivesByteExactWithTheCloseInserted() throws Exception {
        try (TestCluster herd = keepAliveHttp(Map.of()); Socket socket = httpClient(herd.port)) {
            Drain drain = answeredThenDraining(herd, socket);

            HttpResponse chunked = askOn(socket, "GET /chunked?n=2000 HTTP/1.1\r\nHost: test\r\n\r\n"); // ~60 KiB: several reads

            String sent = ascii(KeepAliveHttp.chunkedResponse(2000, drain.old()));
            String statusLine = "HTTP/1.1 200 OK\r\n";
            assertThat(chunked.raw(), is(statusLine + "Connection: close\r\n" + sent.substring(statusLine.length())));
            assertThat("closed after it", socket.getInputStream().read(), is(-1));
            drain.awaitEnd();
        }
    }

    @Test
    void aPipelinedClientGetsEveryAnswerAndItsConnectionIsNotClosedEarly() throws Exception {
        try (TestCluster herd = keepAliveHttp(Map.of()); Socket socket = httpClient(herd.port)) {
            Drain drain = answeredThenDraining(herd, socket);
            long old = drain.old();

            socket.getOutputStream().write(ascii(GET_ROOT + "GET /chunked?n=3 HTTP/1.1\r\nHost: test\r\n\r\n" + GET_ROOT));
            InputStream in = socket.getInputStream();
            List<HttpResponse> answers = List.of(HttpResponse.read(in, false), HttpResponse.read(in, false), HttpResponse.read(in, false));

            assertThat(answers.get(0).body(), is("hello from " + old + "\n"));
            assertThat(answers.get(1).raw(), is(ascii(KeepAliveHttp.chunkedResponse(3, old))));
            assertThat(answers.get(2).body(), is("hello from " + old + "\n"));
            assertThat("relayed as plain bytes: the connection goes on", askOn(socket, GET_ROOT).fields(), not(hasItem("Connection: close")));
            assertThat(drain.reload().isDone(), is(false)); // the drain waits for it
            socket.close();
            drain.awaitEnd();
        }
    }

    @Test
    void anUpgradedConnectionKeepsEchoingAfterTheDrainStarts() throws Exception {
        try (TestCluster herd = keepAliveHttp(Map.of()); Socket socket = httpClient(herd.port)) {
            long old = herd.awaitOnline(1).workers().getFirst().pid();
            HttpResponse switched = askOn(socket, "GET /upgrade HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
            assertThat(switched.status(), is("HTTP/1.1 101 Switching Protocols"));
            assertThat(exchangeOn(socket, "before the drain"), is("before the drain"));

            Drain drain = reloadUntilDraining(herd, old);

            assertThat(exchangeOn(socket, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), is("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
            assertThat(exchangeOn(socket, "during the drain"), is("during the drain"));
            socket.close();
            drain.awaitEnd();
        }
    }

    @Test
    void badHttpEitherWayIsRelayedByteExactAndLeftOpen() throws Exception {
        try (TestCluster herd = keepAliveHttp(Map.of()); Socket badClient = httpClient(herd.port); Socket badWorker = httpClient(herd.port)) {
            long old = herd.awaitOnline(1).workers().getFirst().pid();
            String garbage = "\u0001\u00ff not HTTP \r\r\n";
            assertThat(exchangeOn(badClient, garbage), is(garbage)); // the app echoes what is not a request
            badWorker.getOutputStream().write(ascii("GET /garbage HTTP/1.1\r\nHost: test\r\n\r\n"));
            assertThat(ascii(badWorker.getInputStream().readNBytes(KeepAliveHttp.GARBAGE.length())), is(KeepAliveHttp.GARBAGE));

            Drain drain = reloadUntilDraining(herd, old);

            assertThat(exchangeOn(badClient, GET_ROOT), is(GET_ROOT));
            assertThat(exchangeOn(badWorker, "HTTP/1.1 204 No Content\r\n\r\n"), is("HTTP/1.1 204 No Content\r\n\r\n"));
            assertThat(drain.reload().isDone(), is(false)); // the drain waits for them
            badClient.close();
            badWorker.close();
            drain.awaitEnd();
        }
    }

    private static final String GET_ROOT = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";

    /** The one worker {@code old} draining, as the reload that replaces it runs. */
    private record Drain(long old, CompletableFuture<OperationResult> reload) {
        /** Waits (bounded) for the reload's end: the old worker's last connection closed, it stopped. */
        void awaitEnd() throws Exception {
            OperationResult result = reload.get(60, TimeUnit.SECONDS);
            assertThat(result.toString(), result.succeeded(), is(true));
        }
    }

    /** One request answered on {@code socket}, not marked to close; then a reload, until the worker drains. */
    private static Drain answeredThenDraining(TestCluster herd, Socket socket) throws Exception {
        long old = herd.awaitOnline(1).workers().getFirst().pid();
        assertThat(askOn(socket, GET_ROOT).fields(), not(hasItem("Connection: close")));
        return reloadUntilDraining(herd, old);
    }

    /** Starts a reload on its own thread, and returns once the old worker drains (stopping, its connections open). */
    private static Drain reloadUntilDraining(TestCluster herd, long old) throws InterruptedException {
        CompletableFuture<OperationResult> reload = CompletableFuture.supplyAsync(herd.cluster::reload, task -> Thread.ofVirtual().start(task));
        herd.awaitInfo("the old worker draining", info -> info.workers().stream().anyMatch(w -> w.pid() == old && w.state().equals("stopping")));
        return new Drain(old, reload);
    }

    private static Socket httpClient(int port) throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(30_000);
        return socket;
    }

    /** Sends {@code request} (or the rest of one) and reads one response. */
    private static HttpResponse askOn(Socket socket, String request) throws IOException {
        socket.getOutputStream().write(ascii(request));
        return HttpResponse.read(socket.getInputStream(), request.startsWith("HEAD "));
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String ascii(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    /** One HTTP/1.1 response as it came, byte for byte ({@code raw}), and its parts. */
    record HttpResponse(String raw, String status, List<String> fields, String body) {
        /** Reads one response: its head, then its body by Content-Length or chunks (none for HEAD, 1xx, 204, 304). */
        static HttpResponse read(InputStream in, boolean toHead) throws IOException {
            StringBuilder raw = new StringBuilder();
            String status = line(in, raw);
            List<String> fields = new java.util.ArrayList<>();
            for (String field; !(field = line(in, raw)).isEmpty(); ) fields.add(field);
            int code = Integer.parseInt(status.split(" ")[1]);
            StringBuilder body = new StringBuilder();
            String lengthField = fields.stream().filter(f -> f.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")).findFirst().orElse(null);
            if (toHead || code < 200 || code == 204 || code == 304) {
                // no body
            } else if (fields.stream().anyMatch(f -> f.equalsIgnoreCase("Transfer-Encoding: chunked"))) {
                for (int size; (size = Integer.parseInt(line(in, raw).split(";")[0], 16)) > 0; ) {
                    String data = ascii(in.readNBytes(size));
                    raw.append(data);
                    body.append(data);
                    if (!line(in, raw).isEmpty()) throw new IOException("chunk data longer than its size");
                }
                while (!line(in, raw).isEmpty()) {
                    // trailer fields
                }
            } else if (lengthField != null) {
                String data = ascii(in.readNBytes(Integer.parseInt(lengthField.substring(15).strip())));
                raw.append(data);
                body.append(data);
            } else {
                throw new IOException("a response without a length: " + raw);
            }
            return new HttpResponse(raw.toString(), status, fields, body.toString());
        }

        /** A line without its CRLF; kept whole in {@code raw}. */
        private static String line(InputStream in, StringBuilder raw) throws IOException {
            StringBuilder line = new StringBuilder();
            for (int b; (b = in.read()) != '\n'; ) {
                if (b < 0) throw new IOException("the connection ended within a response: " + raw + line);
                line.append((char) b);
            }
            raw.append(line).append('\n');
            return line.toString().endsWith("\r") ? line.substring(0, line.length() - 1) : line.toString();
        }
    }

    // ---- helpers ----

    static String exchange(int port, String text) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            socket.shutdownOutput();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * {@link #exchange}, bounded. On a thread of its own: blocked in the common pool, it would hold
     * up the master's exit handling ({@link Process#onExit} completes there).
     */
    static String exchangeWithin(int port, String text, Duration limit) throws Exception {
        CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
            try {
                return exchange(port, text);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofVirtual().start(task));
        return answer.get(limit.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Sends {@code text} on an open connection and reads back as many bytes. */
    private static String exchangeOn(Socket socket, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        socket.getOutputStream().write(bytes);
        return new String(socket.getInputStream().readNBytes(bytes.length), StandardCharsets.UTF_8);
    }

    /** Sends {@code size} pseudo-random bytes, then ends the stream; returns their CRC-32. */
    private static long send(Socket socket, long size, long seed) {
        try {
            OutputStream out = socket.getOutputStream();
            Random random = new Random(seed);
            CRC32 crc = new CRC32();
            byte[] chunk = new byte[64 * 1024];
            for (long left = size; left > 0; left -= chunk.length) {
                random.nextBytes(chunk);
                int n = (int) Math.min(chunk.length, left);
                crc.update(chunk, 0, n);
                out.write(chunk, 0, n);
            }
            socket.shutdownOutput();
            return crc.getValue();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Samples this JVM's (the master's) direct buffer memory every 20 ms; heap before and after, after GC. */
    private static final class MemoryWatch {
        private final Thread sampler;
        private final long heapBefore = heapAfterGc();
        private volatile boolean running = true;
        private final AtomicLong maxDirectSeen = new AtomicLong();
        long maxDirect;
        long heapAfter;

        private MemoryWatch() {
            BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                    .filter(pool -> pool.getName().equals("direct")).findFirst().orElseThrow();
            sampler = Thread.ofPlatform().daemon().start(() -> {
                while (running) {
                    maxDirectSeen.accumulateAndGet(direct.getMemoryUsed(), Math::max);
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        static MemoryWatch start() {
            return new MemoryWatch();
        }

        void stop() throws InterruptedException {
            running = false;
            sampler.join();
            maxDirect = maxDirectSeen.get();
            heapAfter = heapAfterGc();
        }

        long heapGrowth() {
            return heapAfter - heapBefore;
        }

        private static long heapAfterGc() {
            System.gc();
            return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        }
    }

    /**
     * A log handler that fails, once, at the first line of a class's logger (debug lines included)
     * that contains a text: a bug met where that line is logged.
     */
    private static final class FailingLogHandler extends Handler implements AutoCloseable {
        /** Held here: java.util.logging keeps its loggers only weakly. */
        private final Logger logger;
        private final java.util.logging.Level levelBefore;
        private final String text;
        private final AtomicBoolean thrown = new AtomicBoolean();

        private FailingLogHandler(Class<?> source, String text) {
            this.logger = Logger.getLogger(source.getName());
            this.levelBefore = logger.getLevel();
            this.text = text;
            logger.setLevel(java.util.logging.Level.FINE);
            logger.addHandler(this);
        }

        static FailingLogHandler onceOn(Class<?> source, String text) {
            return new FailingLogHandler(source, text);
        }

        boolean thrown() {
            return thrown.get();
        }

        @Override
        public void publish(LogRecord record) {
            if (record.getMessage().contains(text) && thrown.compareAndSet(false, true)) {
                throw new IllegalStateException("a log handler that fails");
            }
        }

        @Override
        public void flush() {
            // nothing buffered
        }

        @Override
        public void close() {
            logger.removeHandler(this);
            logger.setLevel(levelBefore);
        }
    }
}
