package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.in;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * The balancers' health endpoint ({@code herd.health.listen}) of a real service: one word and a
 * status per app, nothing else, and no client can hold it.
 */
@Timeout(120)
class HealthEndpointTest {
    /** Every header an answer may have: nothing that names the server or its version. */
    private static final Set<String> ALLOWED_HEADERS = Set.of("content-type", "content-length", "cache-control", "date", "allow", "connection");
    private HerdService service;
    private int port;
    private final List<Socket> stalled = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        service = new HerdService(HelloCluster.config(2, Map.of("herd.health.listen", "127.0.0.1:0")));
        service.prepare();
        service.start();
        port = service.healthAddress().getPort();
        Await.until("both workers online", () -> service.master().cluster("hello").info().online(), online -> online == 2, Duration.ofSeconds(60));
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket socket : stalled) socket.close();
        service.stop();
    }

    private Http request(String method, String path) throws IOException {
        return Http.raw(port, method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    }

    @Test
    void saysUpForAServingAppAndNothingElse() throws Exception {
        Http up = request("GET", "/health/hello");
        assertThat(up.status(), is(200));
        assertThat(up.body(), is("up\n"));
        assertThat("no header tells the server or its version", up.headers().keySet(), everyItem(is(in(ALLOWED_HEADERS))));

        Http head = request("HEAD", "/health/hello");
        assertThat(head.status(), is(200));
        assertThat(head.body(), is(""));
    }

    @Test
    void saysDownWith503WhenNoWorkerIsOnline() throws Exception {
        assertThat(service.master().cluster("hello").scale(0).succeeded(), is(true));
        Http down = request("GET", "/health/hello");
        assertThat(down.status(), is(503));
        assertThat(down.body(), is("down\n"));
    }

    @Test
    void unknownAppsAndOtherPathsAre404AndOtherMethods405() throws Exception {
        for (String path : new String[] {"/health/nosuch", "/", "/health/", "/health", "/health/hello/x", "/health/../health/hello", "/jolokia/"}) {
            Http answer = request("GET", path);
            assertThat(path, answer.status(), is(404));
            assertThat(path, answer.body(), is("unknown\n"));
        }
        for (String method : new String[] {"POST", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
            Http answer = request(method, "/health/hello");
            assertThat(method, answer.status(), is(405));
            assertThat(method, answer.headers().get("allow"), is("GET, HEAD"));
        }
    }

    @Test
    void anOversizedRequestIsRefusedAndTheNextIsServed() throws Exception {
        String huge = "GET /health/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + "x".repeat(JdkServerLimits.MAX_HEADER_BYTES * 2) + "\r\n\r\n";
        int status;
        try {
            status = Http.raw(port, huge).status();
        } catch (IOException closedOrReset) {
            status = -1; // closed without an answer: refused all the same
        }
        assertThat("an oversized head is not served", status, is(not(200)));
        assertThat(request("GET", "/health/hello").status(), is(200));
    }

    @Test
    void slowClientsHoldNothingAndAreClosed() throws Exception {
        for (int i = 0; i < 50; i++) {
            Socket socket = new Socket();
            stalled.add(socket);
            socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            socket.getOutputStream().write("GET /health/hello HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII)); // the head never ends
        }
        assertThat("answered while 50 requests stall", request("GET", "/health/hello").status(), is(200));
        for (Socket socket : stalled) {
            socket.setSoTimeout(60_000); // a bound for the test; the endpoint closes them after JdkServerLimits.REQUEST_SECONDS
            assertThat("a request whose head never ended was closed", Http.closedByPeer(socket.getInputStream()), is(true));
        }
    }
}
