package io.herd.service;

import io.herd.engine.ClusterInfo;
import io.herd.engine.WorkerInfo;
import io.herd.testing.Await;
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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;

/**
 * Hostile management input over Jolokia HTTP — malformed, oversized, wrong-typed, unauthenticated
 * and out-of-range requests to every herd operation: each gets a clear error, and the cluster is
 * exactly as it was (same instances, same worker pids, no operation running).
 */
@Timeout(300)
class HostileManagementTest {
    private static final String CLUSTER = "herd:type=Cluster,name=hello";
    private static final String SERVICE = "herd:type=Service";
    private static HerdService service;
    private static String url;
    private static String password;
    private static String monitorPassword;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws Exception {
        var config = HelloCluster.config(2, Map.of("max.instances", "4"));
        service = new HerdService(config);
        service.start();
        url = service.jolokiaUrl();
        password = Files.readString(config.jolokia().passwordFile()).trim();
        monitorPassword = Files.readString(config.jolokia().monitorPasswordFile()).trim();
        Await.until("hello's 2 workers online", service.master().cluster("hello")::info, info -> info.online() >= 2, Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() throws Exception {
        service.stop();
    }

    /** A hostile request (a POST of body, or a GET of path when body is null), and what its answer must say. */
    private record Hostile(String what, String path, String body, String authorization, int httpStatus, String answerContains) {
        Hostile(String what, String body, String authorization, int httpStatus, String answerContains) {
            this(what, "", body, authorization, httpStatus, answerContains);
        }

        static Hostile get(String what, String path, String authorization, int httpStatus, String answerContains) {
            return new Hostile(what, path, null, authorization, httpStatus, answerContains);
        }
    }

    private static String basic(String user, String secret) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    private static String exec(String mbean, String operation, String arguments) {
        return "{\"type\":\"exec\",\"mbean\":\"" + mbean + "\",\"operation\":\"" + operation + "\",\"arguments\":" + arguments + "}";
    }

    @Test
    void everyHostileRequestGetsAClearErrorAndChangesNothing() throws Exception {
        String herd = basic("herd", password);
        String read = "{\"type\":\"read\",\"mbean\":\"" + CLUSTER + "\",\"attribute\":\"Online\"}";
        List<Hostile> requests = List.of(
                new Hostile("no credentials", read, null, 401, ""),
                new Hostile("a wrong password", read, basic("herd", password + "x"), 401, ""),
                new Hostile("a wrong user", read, basic("root", password), 401, ""),
                new Hostile("a garbled Authorization header", read, "Basic !!not base64!!", 401, ""),
                new Hostile("credentials without a colon", read, "Basic " + Base64.getEncoder().encodeToString("herd".getBytes(StandardCharsets.UTF_8)), 401, ""),
                new Hostile("an exec POSTed to /jolokia/config without credentials", "config", exec(CLUSTER, "scale", "[1]"), null, 401, ""),
                Hostile.get("/jolokia/config without credentials", "config", null, 401, ""),
                new Hostile("malformed JSON", "{not json", herd, 400, "Invalid JSON request"),
                new Hostile("JSON that is not a request", "[1,2,3]", herd, 200, "\"status\":400"),
                new Hostile("an unknown request type", "{\"type\":\"destroy\",\"mbean\":\"" + CLUSTER + "\"}", herd, 400, "No type with name 'destroy'"),
                new Hostile("an 8 MiB attribute name", "{\"type\":\"read\",\"mbean\":\"" + CLUSTER + "\",\"attribute\":\"" + "x".repeat(8 << 20) + "\"}",
                        herd, 413, "over 1048576 bytes"),
                new Hostile("a write to a read-only attribute", "{\"type\":\"write\",\"mbean\":\"" + CLUSTER + "\",\"attribute\":\"Online\",\"value\":9}",
                        herd, 200, "\"status\":40"),
                new Hostile("scale with a string", exec(CLUSTER, "scale", "[\"many\"]"), herd, 200, "\"status\":400"),
                new Hostile("scale with no argument", exec(CLUSTER, "scale", "[]"), herd, 200, "\"status\":400"),
                new Hostile("scale(1.5)", exec(CLUSTER, "scale", "[1.5]"), herd, 200, "instances must be a whole number"),
                new Hostile("scale(\"1.5\")", exec(CLUSTER, "scale", "[\"1.5\"]"), herd, 200, "instances must be a whole number"),
                new Hostile("scale(1, 2)", exec(CLUSTER, "scale", "[1,2]"), herd, 200, "scale takes 1 argument (instances), not 2"),
                new Hostile("scale(null)", exec(CLUSTER, "scale", "[null]"), herd, 200, "instances must be a whole number"),
                new Hostile("scale(1e400)", exec(CLUSTER, "scale", "[1e400]"), herd, 200, "\"status\":400"),
                new Hostile("reload(1)", exec(CLUSTER, "reload", "[1]"), herd, 200, "reload takes no arguments, not 1"),
                new Hostile("scale(int) with 1.5", exec(CLUSTER, "scale(int)", "[1.5]"), herd, 200, "instances must be a whole number"),
                new Hostile("a signature with a tab", exec(SERVICE, "startJar(java.lang.String,\\tjava.lang.String,int,int,java.lang.String,[Ljava.lang.String;)",
                        "[\"/no/such.jar\",\"x\",1.5,18999,\"\",[]]"), herd, 200, "instances must be a whole number"),
                new Hostile("a signature that matches nothing", exec(CLUSTER, "scale(long)", "[1]"), herd, 200, "has no operation"),
                new Hostile("exec on a pattern", exec("herd:*", "scale", "[1.5]"), herd, 200, "not on a pattern"),
                Hostile.get("GET exec on a pattern", "exec/herd:*/reload", herd, 200, "exec only by POST"),
                new Hostile("restart(true)", exec(CLUSTER, "restart", "[true]"), herd, 200, "restart takes no arguments, not 1"),
                new Hostile("a bulk request with one bad exec", "[" + exec(CLUSTER, "scale", "[2.5]") + "," + exec(CLUSTER, "reload", "[true]") + "]", herd, 200,
                        "instances must be a whole number"),
                Hostile.get("GET exec of reload with an extra path segment", "exec/" + CLUSTER + "/reload/1", herd, 200, "exec only by POST"),
                Hostile.get("GET exec of scale(1.5)", "exec/" + CLUSTER + "/scale/1.5", herd, 200, "exec only by POST"),
                Hostile.get("GET exec of scale(2)", "exec/" + CLUSTER + "/scale/2", herd, 200, "exec only by POST"),
                Hostile.get("GET exec through ?p=", "?p=/exec/" + CLUSTER + "/scale/2", herd, 200, "exec only by POST"),
                new Hostile("exec by the monitor", exec(CLUSTER, "scale", "[1]"), basic("herd-monitor", monitorPassword), 200,
                        "herd-monitor may only read"),
                new Hostile("startJar by the monitor", exec(SERVICE, "startJar", "[\"/no/such.jar\",\"x\",1,18999,\"\",[]]"),
                        basic("herd-monitor", monitorPassword), 200, "herd-monitor may only read"),
                new Hostile("the operator's password for the monitor", read, basic("herd-monitor", password), 401, ""),
                new Hostile("a JSR-160 proxy request", "{\"type\":\"read\",\"mbean\":\"java.lang:type=Memory\",\"attribute\":\"HeapMemoryUsage\","
                        + "\"target\":{\"url\":\"service:jmx:rmi:///jndi/ldap://127.0.0.1:1/x\"}}", herd, 200, "proxy requests (with a target) are not served"),
                new Hostile("scale(-1)", exec(CLUSTER, "scale", "[-1]"), herd, 200, "from 0 to 4"),
                new Hostile("scale(5), past max.instances", exec(CLUSTER, "scale", "[5]"), herd, 200, "from 0 to 4"),
                new Hostile("scale(2147483647)", exec(CLUSTER, "scale", "[2147483647]"), herd, 200, "from 0 to 4"),
                new Hostile("scale past an int", exec(CLUSTER, "scale", "[99999999999]"), herd, 200, "\"status\":400"),
                new Hostile("scaleBy(-3)", exec(CLUSTER, "scaleBy", "[-3]"), herd, 200, "outside 0 to 4"),
                new Hostile("scaleBy(+1000)", exec(CLUSTER, "scaleBy", "[1000]"), herd, 200, "outside 0 to 4"),
                new Hostile("scaleBy(-2147483648)", exec(CLUSTER, "scaleBy", "[-2147483648]"), herd, 200, "outside 0 to 4"),
                new Hostile("an operation that does not exist", exec(CLUSTER, "shutdown", "[]"), herd, 200, "\"status\":40"),
                new Hostile("an app that does not exist", exec("herd:type=Cluster,name=nosuchapp", "scale", "[1]"), herd, 200, "\"status\":404"),
                new Hostile("startJar with a missing jar", exec(SERVICE, "startJar", "[\"/no/such.jar\",\"x\",1,18999,\"\",[]]"), herd, 200, "no such file"),
                new Hostile("startJar on port -1", exec(SERVICE, "startJar", "[\"/no/such.jar\",\"x\",1,-1,\"\",[]]"), herd, 200, "\"status\":"),
                new Hostile("startJar on port 70000", exec(SERVICE, "startJar", "[\"/no/such.jar\",\"x\",1,70000,\"\",[]]"), herd, 200, "\"status\":"),
                new Hostile("startJar with a bad name", exec(SERVICE, "startJar", "[\"/no/such.jar\",\"../etc\",1,18999,\"\",[]]"), herd, 200, "\"status\":"),
                new Hostile("startJar over a running app", exec(SERVICE, "startJar", "[\"/no/such.jar\",\"hello\",1,18999,\"\",[]]"), herd, 200, "\"status\":"),
                new Hostile("stopApp of an unknown app", exec(SERVICE, "stopApp", "[\"nosuchapp\"]"), herd, 200, "nosuchapp"),
                new Hostile("startApp of an unknown app", exec(SERVICE, "startApp", "[\"nosuchapp\"]"), herd, 200, "nosuchapp"),
                new Hostile("deleteApp of an unknown app", exec(SERVICE, "deleteApp", "[\"nosuchapp\"]"), herd, 200, "nosuchapp"),
                new Hostile("deleteApp with null", exec(SERVICE, "deleteApp", "[null]"), herd, 200, "\"status\":"));

        ClusterInfo before = service.master().cluster("hello").info();
        List<String> wrong = new ArrayList<>();
        for (Hostile hostile : requests) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + hostile.path())).timeout(Duration.ofSeconds(60));
            if (hostile.body() != null) {
                request.POST(HttpRequest.BodyPublishers.ofString(hostile.body())).header("Content-Type", "application/json");
            }
            if (hostile.authorization() != null) request.header("Authorization", hostile.authorization());
            HttpResponse<String> response;
            try {
                response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            } catch (java.io.IOException e) {
                wrong.add(hostile.what() + ": no answer: " + e);
                continue;
            }
            String body = response.body();
            boolean errorInBody = hostile.httpStatus() != 200 || !body.contains("\"status\":200");
            if (response.statusCode() != hostile.httpStatus() || !body.contains(hostile.answerContains()) || !errorInBody) {
                wrong.add(hostile.what() + ": HTTP " + response.statusCode() + " " + body.substring(0, Math.min(300, body.length())));
            }
        }
        ClusterInfo after = service.master().cluster("hello").info();

        Figures.record("hostile management input", requests.size() + " hostile Jolokia requests: " + (requests.size() - wrong.size())
                + " answered with a clear error; cluster unchanged: " + sameCluster(before, after));
        assertThat(wrong, is(empty()));
        assertThat(sameCluster(before, after), is(true));
        assertThat(service.master().cluster("hello").runningOperation(), is((String) null));
        assertThat(service.master().clusters().size(), is(1));
    }

    private static boolean sameCluster(ClusterInfo before, ClusterInfo after) {
        return before.instances() == after.instances() && after.online() == before.online()
                && before.workers().stream().map(WorkerInfo::pid).toList().equals(after.workers().stream().map(WorkerInfo::pid).toList());
    }
}
