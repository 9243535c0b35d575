package io.herd.service;

import io.herd.config.HerdConfig;
import io.herd.service.cli.CliRunner;
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
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * Two users over Jolokia: {@code herd}, the operator, may do everything; {@code herd-monitor} may
 * read, list, search and ask the version, and never reach an operation or a write.
 */
@Timeout(120)
class ManagementRolesTest {
    private static final String CLUSTER = "herd:type=Cluster,name=hello";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static HerdConfig config;
    private static HerdService service;
    private static String url;
    private static String operator;
    private static String monitor;

    @BeforeAll
    static void start() throws Exception {
        config = HelloCluster.config(1, Map.of("max.instances", "4"));
        service = new HerdService(config);
        service.start();
        url = service.jolokiaUrl();
        operator = login("herd", Files.readString(config.jolokia().passwordFile()).strip());
        monitor = login("herd-monitor", Files.readString(config.jolokia().monitorPasswordFile()).strip());
    }

    @AfterAll
    static void stop() throws Exception {
        service.stop();
    }

    private static String login(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String post(String body, String authorization) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json")
                .header("Authorization", authorization).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.body(), response.statusCode(), is(200));
        return response.body();
    }

    @Test
    void eachUsersPasswordIsGeneratedForTheServicesUserOnly() throws Exception {
        for (Path file : new Path[] {config.jolokia().passwordFile(), config.jolokia().monitorPasswordFile()}) {
            assertThat(file.toString(), PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), is("rw-------"));
        }
        assertThat(Files.readString(config.jolokia().passwordFile()), not(is(Files.readString(config.jolokia().monitorPasswordFile()))));
    }

    @Test
    void theMonitorMayLook() throws Exception {
        assertThat(post("{\"type\":\"read\",\"mbean\":\"" + CLUSTER + "\",\"attribute\":\"Online\"}", monitor), containsString("\"status\":200"));
        assertThat(post("{\"type\":\"search\",\"mbean\":\"herd:*\"}", monitor), containsString(CLUSTER.replace("type=Cluster,name=hello", "")));
        assertThat(post("{\"type\":\"list\",\"path\":\"herd\"}", monitor), containsString("\"status\":200"));
        assertThat(post("{\"type\":\"version\"}", monitor), containsString("\"status\":200"));
        // the agent's own settings: Jolokia answers it before any handler, as it does version
        assertThat(post("{\"type\":\"config\"}", monitor), containsString("\"status\":200"));
    }

    @Test
    void theMonitorCanNeverReachAnOperationOrAWrite() throws Exception {
        String[] acts = {
                "{\"type\":\"exec\",\"mbean\":\"" + CLUSTER + "\",\"operation\":\"scale\",\"arguments\":[2]}",
                "{\"type\":\"exec\",\"mbean\":\"" + CLUSTER + "\",\"operation\":\"reload\"}",
                "{\"type\":\"exec\",\"mbean\":\"herd:type=Service\",\"operation\":\"save\"}",
                "{\"type\":\"exec\",\"mbean\":\"java.lang:type=Memory\",\"operation\":\"gc\"}",
                "{\"type\":\"write\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"Verbose\",\"value\":true}",
                "{\"type\":\"notification\",\"command\":\"register\"}"};
        for (String act : acts) assertThat(act, post(act, monitor), containsString("herd-monitor may only read"));
        String bulk = post("[" + acts[0] + ",{\"type\":\"read\",\"mbean\":\"" + CLUSTER + "\",\"attribute\":\"Instances\"}]", monitor);
        assertThat("in a bulk request, the exec is refused", bulk, containsString("herd-monitor may only read"));
        assertThat("and the read answered", bulk, containsString("\"value\":1"));
        assertThat(service.master().cluster("hello").info().instances(), is(1));
    }

    @Test
    void theOperatorMayAct() throws Exception {
        assertThat(post("{\"type\":\"exec\",\"mbean\":\"" + CLUSTER + "\",\"operation\":\"scale\",\"arguments\":[2]}", operator),
                containsString("\"succeeded\":true"));
        assertThat(post("{\"type\":\"exec\",\"mbean\":\"" + CLUSTER + "\",\"operation\":\"scale\",\"arguments\":[1]}", operator),
                containsString("\"succeeded\":true"));
    }

    @Test
    void theCliLooksAsTheMonitorWithTheMonitorsPassword() {
        String file = config.jolokia().monitorPasswordFile().toString();
        CliRunner.Run list = CliRunner.run("--url", url, "--user", "herd-monitor", "--password-file", file, "list");
        assertThat(list.err(), list.exit(), is(0));
        assertThat(list.out(), containsString("hello"));
        CliRunner.Run scale = CliRunner.run("--url", url, "--user", "herd-monitor", "--password-file", file, "scale", "hello", "3");
        assertThat(scale.exit(), is(1));
        assertThat(scale.err(), containsString("herd-monitor may only read"));
    }
}
