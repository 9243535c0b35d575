package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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

/** Jolokia over real HTTP: authentication, the access policy, and a scale through it. */
@Timeout(120)
class JolokiaTest {
    private HerdService service;
    private String url;
    private String password;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeEach
    void start() throws Exception {
        var config = HelloCluster.config(2, Map.of("max.instances", "4"));
        service = new HerdService(config);
        service.start();
        url = service.jolokiaUrl();
        Path passwordFile = config.jolokia().passwordFile();
        assertThat("generated at first start, for the service's user only",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile)), is("rw-------"));
        password = Files.readString(passwordFile).trim();
        Await.until("hello's 2 workers online", service.master().cluster("hello")::info, info -> info.online() >= 2, Duration.ofSeconds(60));
    }

    @AfterEach
    void stop() throws Exception {
        service.stop();
    }

    private HttpResponse<String> post(String body, String user, String secret) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (user != null) {
            request.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + secret).getBytes(StandardCharsets.UTF_8)));
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String exec(String mbean, String operation, String arguments) throws Exception {
        HttpResponse<String> response = post("{\"type\":\"exec\",\"mbean\":\"" + mbean + "\",\"operation\":\"" + operation
                + "\",\"arguments\":" + arguments + "}", "herd", password);
        assertThat(response.statusCode(), is(200));
        return response.body();
    }

    @Test
    void noCredentialsOrAWrongPasswordGet401() throws Exception {
        String read = "{\"type\":\"read\",\"mbean\":\"herd:type=Cluster,name=hello\",\"attribute\":\"Online\"}";
        assertThat(post(read, null, null).statusCode(), is(401));
        assertThat(post(read, "herd", password + "x").statusCode(), is(401));
        assertThat(post(read, "herd", password).body(), containsString("\"value\":2"));
    }

    @Test
    void everyContextOfTheEndpointRequiresThePassword() throws Exception {
        // Jolokia 2.4 opens /jolokia/config with no authentication and runs what is POSTed there
        HttpRequest scale = HttpRequest.newBuilder(URI.create(url + "config")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"exec\",\"mbean\":\"herd:type=Cluster,name=hello\",\"operation\":\"scale\",\"arguments\":[1]}"))
                .build();
        HttpResponse<String> answer = http.send(scale, HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode(), is(401));
        assertThat(answer.headers().firstValue("WWW-Authenticate").orElse(""), containsString("Basic realm=\"herd\""));
        assertThat(http.send(HttpRequest.newBuilder(URI.create(url + "config")).build(), HttpResponse.BodyHandlers.ofString()).statusCode(), is(401));
        assertThat(service.master().cluster("hello").info().instances(), is(2));
    }

    @Test
    void aGarbledAuthorizationHeaderGets401() throws Exception {
        for (String garbled : new String[] {"Basic !!not base64!!", "Basic " + Base64.getEncoder().encodeToString("nocolon".getBytes()), "Basic", "Bearer x"}) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url + "version")).timeout(Duration.ofSeconds(60))
                    .header("Authorization", garbled).build();
            assertThat(garbled, http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode(), is(401));
        }
    }

    @Test
    void herdsOperationsTakeExactlyTheirArguments() throws Exception {
        String cluster = "herd:type=Cluster,name=hello";
        assertThat(exec(cluster, "scale", "[1.5]"), containsString("instances must be a whole number"));
        assertThat(exec(cluster, "scale", "[1, 2]"), containsString("scale takes 1 argument (instances), not 2"));
        assertThat(exec(cluster, "reload", "[1]"), containsString("reload takes no arguments, not 1"));
        HttpResponse<String> bulk = post("[" + "{\"type\":\"exec\",\"mbean\":\"" + cluster + "\",\"operation\":\"scale\",\"arguments\":[1.5]},"
                + "{\"type\":\"read\",\"mbean\":\"" + cluster + "\",\"attribute\":\"Online\"}]", "herd", password);
        assertThat("the bad exec of a bulk request is refused", bulk.body(), containsString("instances must be a whole number"));
        assertThat("and the good read answered", bulk.body(), containsString("\"value\":2"));
        assertThat(service.master().cluster("hello").info().instances(), is(2));
        assertThat("a whole number written 3.0 is 3", exec(cluster, "scale", "[3.0]"), containsString("\"succeeded\":true"));
        assertThat(service.master().cluster("hello").info().instances(), is(3));
    }

    @Test
    void heapDumpsAndFlightRecordingsAreForbidden() throws Exception {
        String dump = exec("com.sun.management:type=HotSpotDiagnostic", "dumpHeap", "[\"/tmp/herd-heap.hprof\",true]");
        assertThat(dump, containsString("\"status\":403"));
        assertThat(Files.exists(Path.of("/tmp/herd-heap.hprof")), is(false));
        assertThat(exec("jdk.management.jfr:type=FlightRecorder", "newRecording", "[]"), containsString("\"status\":403"));
        assertThat(exec("java.lang:type=Memory", "gc", "[]"), containsString("\"status\":403"));
    }

    @Test
    void execScaleChangesTheCluster() throws Exception {
        String result = exec("herd:type=Cluster,name=hello", "scale", "[3]");
        assertThat(result, containsString("\"status\":200"));
        assertThat(result, containsString("\"succeeded\":true"));
        assertThat(service.master().cluster("hello").info().online(), is(3));
    }

    @Test
    void badRequestsGetAClearErrorAndChangeNothing() throws Exception {
        HttpResponse<String> malformed = post("{not json", "herd", password);
        assertThat(malformed.statusCode(), is(400));
        assertThat(malformed.body(), containsString("Invalid JSON request"));
        assertThat(exec("herd:type=Cluster,name=nosuchapp", "scale", "[3]"), containsString("\"status\":404"));
        assertThat(exec("herd:type=Cluster,name=hello", "scale", "[\"many\"]"), containsString("\"status\":400"));
        String negative = exec("herd:type=Cluster,name=hello", "scale", "[-1]");
        assertThat(negative, containsString("from 0 to 4"));
        assertThat(service.master().cluster("hello").info().instances(), is(2));
    }
}
