package io.herd.service;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * What a web page open in the operator's browser can make the browser send to the management
 * endpoint — with the operator's cached login — is refused, and nothing changes. The requests
 * carry the headers a browser adds (Origin, Sec-Fetch-Site) exactly as a browser sends them.
 */
@Timeout(120)
class CrossSiteRequestTest {
    private static final String CLUSTER = "herd:type=Cluster,name=hello";
    private static final String EVIL = "http://evil.example";
    private static final String SCALE_TO_2 = "{\"type\":\"exec\",\"mbean\":\"" + CLUSTER + "\",\"operation\":\"scale\",\"arguments\":[2]}";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static HerdService service;
    private static String url;
    private static String login;

    @BeforeAll
    static void start() throws Exception {
        var config = HelloCluster.config(1, Map.of("max.instances", "4"));
        service = new HerdService(config);
        service.start();
        url = service.jolokiaUrl();
        String password = Files.readString(config.jolokia().passwordFile()).strip();
        login = "Basic " + Base64.getEncoder().encodeToString(("herd:" + password).getBytes(StandardCharsets.UTF_8));
    }

    @AfterAll
    static void stop() throws Exception {
        service.stop();
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return HTTP.send(request.timeout(Duration.ofSeconds(60)).header("Authorization", login).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest.Builder post(String body, String contentType) {
        return HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", contentType);
    }

    private static int instances() {
        return service.master().cluster("hello").info().instances();
    }

    @Test
    void aForeignOriginIsRefusedAndNeverEchoed() throws Exception {
        HttpResponse<String> exec = send(post(SCALE_TO_2, "application/json").header("Origin", EVIL));
        assertThat(exec.statusCode(), is(403));
        assertThat(exec.body(), containsString("cross-site requests are refused"));
        assertThat(exec.headers().firstValue("Access-Control-Allow-Origin").isPresent(), is(false));
        assertThat(exec.headers().firstValue("Access-Control-Allow-Credentials").isPresent(), is(false));

        HttpResponse<String> read = send(HttpRequest.newBuilder(URI.create(url + "read/" + CLUSTER + "/Online")).header("Origin", EVIL));
        assertThat("a page may not even read", read.statusCode(), is(403));
        HttpResponse<String> preflight = send(HttpRequest.newBuilder(URI.create(url)).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", EVIL).header("Access-Control-Request-Method", "POST").header("Access-Control-Request-Headers", "content-type"));
        assertThat(preflight.statusCode(), is(403));
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin").isPresent(), is(false));
        assertThat(send(post(SCALE_TO_2, "application/json").header("Origin", "null")).statusCode(), is(403));
        assertThat(instances(), is(1));
    }

    @Test
    void aBrowserSayingTheRequestIsCrossSiteIsRefused() throws Exception {
        // a same-site page (another port of this host, such as the app herd serves) counts too
        for (String site : new String[] {"cross-site", "same-site"}) {
            HttpResponse<String> answer = send(HttpRequest.newBuilder(URI.create(url + "read/" + CLUSTER + "/Online")).header("Sec-Fetch-Site", site));
            assertThat(site, answer.statusCode(), is(403));
        }
        assertThat("typed into the address bar", send(HttpRequest.newBuilder(URI.create(url + "read/" + CLUSTER + "/Online"))
                .header("Sec-Fetch-Site", "none")).body(), containsString("\"status\":200"));
    }

    @Test
    void aFormOrTextPostCannotAct() throws Exception {
        for (String type : new String[] {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"}) {
            HttpResponse<String> answer = send(post(SCALE_TO_2, type));
            assertThat(type, answer.statusCode(), is(415));
            assertThat(answer.body(), containsString("Content-Type: application/json"));
        }
        assertThat(send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(SCALE_TO_2))).statusCode(), is(415));
        assertThat(instances(), is(1));
    }

    @Test
    void theGetFormsOfExecAndWriteAreRefused() throws Exception {
        // what an <img src> on any page could ask for
        for (String path : new String[] {"exec/" + CLUSTER + "/scale/2", "?p=/exec/" + CLUSTER + "/scale/2",
                "write/" + CLUSTER + "/Online/2"}) {
            HttpResponse<String> answer = send(HttpRequest.newBuilder(URI.create(url + path)));
            assertThat(path, answer.body(), containsString("only by POST"));
            assertThat(path, answer.body(), not(containsString("\"status\":200")));
        }
        assertThat(instances(), is(1));
    }

    @Test
    void aNameMadeToPointHereIsRefused() throws Exception {
        // DNS rebinding: evil.example resolves to 127.0.0.1 now, so its page is "same origin" with the endpoint
        URI endpoint = URI.create(url);
        String rebound = "evil.example:" + endpoint.getPort();
        String answer = raw("GET " + endpoint.getPath() + "read/" + CLUSTER + "/Online HTTP/1.1\r\nHost: " + rebound
                + "\r\nOrigin: http://" + rebound + "\r\nAuthorization: " + login + "\r\nConnection: close\r\n\r\n");
        assertThat(answer, startsWith("HTTP/1.1 403"));
        assertThat(answer, containsString("must call this endpoint by its address"));
        assertThat("by its address it is served", raw("GET " + endpoint.getPath() + "read/" + CLUSTER + "/Online HTTP/1.1\r\nHost: localhost:"
                + endpoint.getPort() + "\r\nAuthorization: " + login + "\r\nConnection: close\r\n\r\n"), startsWith("HTTP/1.1 200"));
    }

    @Test
    void jsonpIsRefused() throws Exception {
        // a <script src=".../read/...?callback=steal"> on any page would run the answer, and read it
        HttpResponse<String> answer = send(HttpRequest.newBuilder(URI.create(url + "read/java.lang:type=Runtime/SystemProperties?callback=steal")));
        assertThat(answer.statusCode(), is(403));
        assertThat(answer.body(), not(containsString("steal(")));
    }

    @Test
    void aHeadIsRefusedWithoutABody() throws Exception {
        URI endpoint = URI.create(url);
        String answer = raw("HEAD " + endpoint.getPath() + " HTTP/1.1\r\nHost: 127.0.0.1:" + endpoint.getPort() + "\r\nConnection: close\r\n\r\n");
        assertThat(answer, startsWith("HTTP/1.1 405"));
        assertThat(answer, not(containsString("{")));
    }

    /** Sends {@code request} as it is, on a new connection, and reads the answer to its end. */
    private static String raw(String request) throws Exception {
        URI endpoint = URI.create(url);
        try (java.net.Socket socket = new java.net.Socket(endpoint.getHost(), endpoint.getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void otherMethodsAreRefused() throws Exception {
        HttpResponse<String> put = send(HttpRequest.newBuilder(URI.create(url)).PUT(HttpRequest.BodyPublishers.ofString(SCALE_TO_2))
                .header("Content-Type", "application/json"));
        assertThat(put.statusCode(), is(405));
        assertThat(put.headers().firstValue("Allow").orElse(""), containsString("POST"));
    }

    @Test
    void clientsThatSendNoOriginAndTheEndpointsOwnOriginAreServed() throws Exception {
        HttpResponse<String> cli = send(post(SCALE_TO_2, "application/json; charset=utf-8"));
        assertThat(cli.body(), containsString("\"succeeded\":true"));
        URI endpoint = URI.create(url);
        String own = "http://" + endpoint.getHost() + ":" + endpoint.getPort();
        HttpResponse<String> sameOrigin = send(post("{\"type\":\"read\",\"mbean\":\"" + CLUSTER + "\",\"attribute\":\"Instances\"}",
                "application/json").header("Origin", own));
        assertThat(sameOrigin.body(), containsString("\"value\":2"));
        assertThat(send(post(SCALE_TO_2.replace("[2]", "[1]"), "application/json")).body(), containsString("\"succeeded\":true"));
    }
}
