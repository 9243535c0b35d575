package io.herd.service;

import io.herd.service.cli.CliRunner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/**
 * The management endpoint cannot be stalled: connections that send a byte of a request and then
 * nothing, or nothing at all, neither keep others from being answered nor stay open for ever.
 */
@Timeout(120)
class JolokiaStallTest {
    private static final int STALLED = 60;
    private HerdService service;
    private String url;
    private String password;
    private Path passwordFile;
    private final List<Socket> stalled = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        var config = HelloCluster.config(1, Map.of());
        service = new HerdService(config);
        service.start();
        url = service.jolokiaUrl();
        passwordFile = config.jolokia().passwordFile();
        password = Files.readString(passwordFile).strip();
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket socket : stalled) socket.close();
        service.stop();
    }

    /** Opens {@code count} connections to the endpoint, each sending {@code firstBytes} and then nothing. */
    private void stall(int count, String firstBytes) throws IOException {
        URI endpoint = URI.create(url);
        for (int i = 0; i < count; i++) {
            Socket socket = new Socket();
            stalled.add(socket);
            socket.connect(new InetSocketAddress(endpoint.getHost(), endpoint.getPort()), 10_000);
            socket.getOutputStream().write(firstBytes.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
        }
    }

    @Test
    void sixtyStalledConnectionsLeaveTheEndpointAnswering() throws Exception {
        stall(STALLED, "G");
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpRequest read = HttpRequest.newBuilder(URI.create(url + "read/herd:type=Cluster,name=hello/App")).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("herd:" + password).getBytes(StandardCharsets.UTF_8)))
                .build();
        HttpResponse<String> answer = http.send(read, HttpResponse.BodyHandlers.ofString());
        assertThat(answer.body(), containsString("\"value\":\"hello\""));

        CliRunner.Run list = CliRunner.run("--url", url, "--password-file", passwordFile.toString(), "list");
        assertThat(list.err(), list.exit(), is(0));
        assertThat(list.out(), containsString("hello"));
    }

    @Test
    void aRequestThatNeverCompletesIsClosed() throws Exception {
        stall(3, "GET /jolokia/version HTTP/1.1\r\nHost: x\r\n"); // no blank line: the head never ends
        stall(3, "");                                              // not a byte
        for (Socket socket : stalled) {
            socket.setSoTimeout(60_000); // a bound for the test; the endpoint closes them long before
            assertThat("the endpoint closed a connection whose request never came", Http.closedByPeer(socket.getInputStream()), is(true));
        }
    }

    @Test
    void openConnectionsAreBounded() throws Exception {
        stall(JdkServerLimits.MAX_CONNECTIONS + 44, "");
        int port = URI.create(url).getPort();
        long held = serverSideConnections(port);
        assertThat("connections the endpoint holds open: " + held, held > 0 && held <= JdkServerLimits.MAX_CONNECTIONS, is(true));
    }

    /** Established TCP connections whose local end is {@code port} (IPv4 or, as the JDK opens them, IPv6): the server's side of each. */
    private static long serverSideConnections(int port) throws IOException {
        String local = String.format(":%04X", port);
        long count = 0;
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            try (var lines = Files.lines(Path.of(table))) {
                count += lines.skip(1).map(line -> line.trim().split("\\s+"))
                        .filter(fields -> fields[1].endsWith(local) && fields[3].equals("01")).count();
            }
        }
        return count;
    }
}
