package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

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
import java.util.concurrent.CompletableFuture;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/**
 * What one user who may only look can ask of the management endpoint at once: Jolokia builds
 * each answer whole in the master's heap, so a bulk of 20,000 {@code list} requests (360 KB sent,
 * some 1.2 GB to answer) once took a service down. Now a bulk carries at most 100 requests, and
 * 4 are handled at a time; the service (run as operators run it, with a small heap) lives on.
 */
@Timeout(240)
class ManagementLoadTest {
    private static final int ATTACK = 20_000;
    private static final int CONCURRENT_BULKS = 8;

    @TempDir
    Path home;

    @Test
    void theMonitorCannotMakeTheServiceRunOutOfHeap() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 1, ""), false)) {
            herd.port("hello");
            String url = herd.jolokiaUrl();
            String login = "Basic " + Base64.getEncoder().encodeToString(("herd-monitor:"
                    + Files.readString(home.resolve("var/jolokia-monitor.password")).strip()).getBytes(StandardCharsets.UTF_8));
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

            String refused = send(http, url, login, bulk(ATTACK));
            assertThat(refused, containsString("at most 100 requests in one bulk request"));
            assertThat("the service lives on", herd.process.isAlive(), is(true));

            List<CompletableFuture<HttpResponse<String>>> bulks = new ArrayList<>();
            for (int i = 0; i < CONCURRENT_BULKS; i++) bulks.add(http.sendAsync(request(url, login, bulk(100)), HttpResponse.BodyHandlers.ofString()));
            for (CompletableFuture<HttpResponse<String>> answer : bulks) {
                assertThat(answer.get().body(), containsString("\"status\":200"));
            }
            assertThat("the service lives on", herd.process.isAlive(), is(true));
            assertThat(send(http, url, login, "{\"type\":\"read\",\"mbean\":\"herd:type=Cluster,name=hello\",\"attribute\":\"App\"}"),
                    containsString("\"value\":\"hello\""));
            Figures.record("management load", "a bulk of " + ATTACK + " list requests from herd-monitor: refused past 100, the service lived on; "
                    + CONCURRENT_BULKS + " bulks of 100 at once: all answered");
        }
    }

    private static String bulk(int requests) {
        return "[" + String.join(",", java.util.Collections.nCopies(requests, "{\"type\":\"list\"}")) + "]";
    }

    private static HttpRequest request(String url, String login, String body) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120)).header("Authorization", login)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static String send(HttpClient http, String url, String login, String body) throws Exception {
        return http.send(request(url, login, body), HttpResponse.BodyHandlers.ofString()).body();
    }
}
