package io.herd.service.cli;

import org.jolokia.json.JSONArray;
import org.jolokia.json.JSONObject;
import org.jolokia.json.parser.JSONParser;
import org.jolokia.json.parser.ParseException;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * The CLI's way to the service: Jolokia requests over the JDK's HttpClient, with basic auth.
 * Jolokia answers HTTP 200 even when a request failed, so the status inside the body is what
 * counts: a failure there is a {@link Failed}; no answer, or refused credentials, {@link Unreachable}.
 */
final class JolokiaClient {
    /** The service could not be reached, or refused the credentials. */
    static final class Unreachable extends Exception {
        Unreachable(String message) {
            super(message);
        }
    }

    /** The service answered, and the request failed. */
    static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    private final URI url;
    private final String authorization;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    JolokiaClient(URI url, String user, String password) {
        this.url = url;
        this.authorization = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    Object read(String mbean, String attribute) throws Unreachable, Failed {
        JSONObject request = new JSONObject();
        request.put("type", "read");
        request.put("mbean", mbean);
        request.put("attribute", attribute);
        return send(request, Duration.ofSeconds(30));
    }

    @SuppressWarnings("unchecked")
    List<String> search(String pattern) throws Unreachable, Failed {
        JSONObject request = new JSONObject();
        request.put("type", "search");
        request.put("mbean", pattern);
        return (List<String>) send(request, Duration.ofSeconds(30));
    }

    /** Runs an operation; operations wait for their workers, so this may take minutes. */
    Object exec(String mbean, String operation, Object... arguments) throws Unreachable, Failed {
        JSONObject request = new JSONObject();
        request.put("type", "exec");
        request.put("mbean", mbean);
        request.put("operation", operation);
        request.put("arguments", new JSONArray(Arrays.stream(arguments)
                .map(argument -> argument instanceof List<?> list ? new JSONArray(list) : argument).toList()));
        return send(request, Duration.ofMinutes(30));
    }

    /** ": <error>" from an error answer's JSON, or nothing. */
    private static String errorIn(String body) {
        try {
            Object error = new JSONParser().parse(body, JSONObject.class).get("error");
            return error == null ? "" : ": " + error;
        } catch (ParseException | IOException | RuntimeException notJson) {
            return "";
        }
    }

    private Object send(JSONObject request, Duration timeout) throws Unreachable, Failed {
        HttpResponse<String> response;
        try {
            response = http.send(HttpRequest.newBuilder(url).timeout(timeout).header("Authorization", authorization)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(request.toJSONString())).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new Unreachable("cannot reach the herd service at " + url + ": "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted");
        }
        if (response.statusCode() == 401) throw new Unreachable("the herd service at " + url + " refused the user name or password");
        if (response.statusCode() != 200) {
            throw new Unreachable("the herd service at " + url + " answered HTTP " + response.statusCode() + errorIn(response.body()));
        }
        JSONObject body;
        try {
            body = new JSONParser().parse(response.body(), JSONObject.class);
        } catch (ParseException | IOException | RuntimeException e) {
            throw new Unreachable(url + " did not answer like Jolokia: " + e.getMessage());
        }
        Object status = body.get("status");
        // Jolokia answers HTTP 200 and puts a request's own status in the body
        if (!(status instanceof Number number) || number.intValue() != 200) {
            throw new Failed(String.valueOf(body.getOrDefault("error", "status " + status)));
        }
        return body.get("value");
    }
}
