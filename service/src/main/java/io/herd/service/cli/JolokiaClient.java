package io.herd.service.cli;

import org.jolokia.json.JSONArray;
import org.jolokia.json.JSONObject;
import org.jolokia.json.parser.JSONParser;
import org.jolokia.json.parser.ParseException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.Proxy;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLException;

/**
 * The CLI's way to the service: Jolokia requests over the JDK's HttpURLConnection (HTTPS with
 * the JVM's trust store), with basic auth, never through a proxy. Not java.net.http's HttpClient:
 * its selector thread, TLS set-up even for plain HTTP, and System.Logger look-up cost a CLI verb
 * about a third of its time, for one request and its answer.
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

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** The most of an answer read, far more than any Stats or OperationResult: a bound against a hostile endpoint. */
    private static final int MAX_ANSWER_BYTES = 64 << 20;

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    private final URI url;
    private final String authorization;
    /** The longest a read or search, or a connection, may take: the CLI's bound on one host that does not answer. */
    private final Duration longestWait;

    JolokiaClient(URI url, String user, String password) {
        this(url, user, password, READ_TIMEOUT);
    }

    /** A client whose connections and reads wait at most {@code longestWait} (operations still wait for their workers). */
    JolokiaClient(URI url, String user, String password, Duration longestWait) {
        this.url = url;
        this.authorization = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        this.longestWait = longestWait;
    }

    Object read(String mbean, String attribute) throws Unreachable, Failed {
        JSONObject request = new JSONObject();
        request.put("type", "read");
        request.put("mbean", mbean);
        request.put("attribute", attribute);
        return send(request, min(READ_TIMEOUT, longestWait));
    }

    /** Several attributes in one request: attribute → value. */
    Map<?, ?> read(String mbean, List<String> attributes) throws Unreachable, Failed {
        JSONObject request = new JSONObject();
        request.put("type", "read");
        request.put("mbean", mbean);
        request.put("attribute", new JSONArray(attributes));
        if (!(send(request, min(READ_TIMEOUT, longestWait)) instanceof Map<?, ?> values)) throw new Failed("not a map of attributes: " + attributes);
        return values;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    @SuppressWarnings("unchecked")
    List<String> search(String pattern) throws Unreachable, Failed {
        JSONObject request = new JSONObject();
        request.put("type", "search");
        request.put("mbean", pattern);
        return (List<String>) send(request, min(READ_TIMEOUT, longestWait));
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

    /** Why a request got no answer, in the words an operator looks for: refused, timed out, TLS, unknown host. */
    private static String why(IOException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return switch (e) {
            case SSLException tls -> "TLS failed: " + message;
            case SocketTimeoutException timeout -> "timed out (" + message + ")";
            case UnknownHostException unknown -> "unknown host " + message;
            default -> message;
        };
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

    /** An HTTP answer: its status and body. */
    private record Answer(int status, String body) {
    }

    /** POSTs {@code body}; {@code timeout} bounds each wait for the answer's bytes. */
    private Answer post(String body, Duration timeout) throws IOException {
        HttpURLConnection http;
        try {
            if (!(url.toURL().openConnection(Proxy.NO_PROXY) instanceof HttpURLConnection connection)) throw new IOException("not an HTTP URL");
            http = connection;
        } catch (IllegalArgumentException notAbsolute) {
            throw new IOException("not an HTTP URL", notAbsolute);
        }
        try {
            http.setConnectTimeout((int) min(CONNECT_TIMEOUT, longestWait).toMillis());
            http.setReadTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            http.setUseCaches(false);
            http.setInstanceFollowRedirects(false);
            http.setRequestMethod("POST");
            http.setRequestProperty("Authorization", authorization);
            http.setRequestProperty("Content-Type", "application/json");
            http.setDoOutput(true);
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            http.setFixedLengthStreamingMode(bytes.length);
            try (OutputStream out = http.getOutputStream()) {
                out.write(bytes);
            }
            int status = http.getResponseCode();
            // read to the end and closed, the connection is kept for the verb's next request
            try (InputStream in = status < 400 ? http.getInputStream() : http.getErrorStream()) {
                return new Answer(status, in == null ? "" : new String(in.readNBytes(MAX_ANSWER_BYTES), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            http.disconnect();
            throw e;
        }
    }

    private Object send(JSONObject request, Duration timeout) throws Unreachable, Failed {
        Answer response;
        try {
            response = post(request.toJSONString(), timeout);
        } catch (IOException e) {
            throw new Unreachable("cannot reach the herd service at " + url + ": " + why(e));
        }
        if (response.status() == 401) throw new Unreachable("the herd service at " + url + " refused the user name or password");
        if (response.status() != 200) {
            throw new Unreachable("the herd service at " + url + " answered HTTP " + response.status() + errorIn(response.body()));
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
