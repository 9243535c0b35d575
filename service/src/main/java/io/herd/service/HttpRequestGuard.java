package io.herd.service;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What the management endpoint refuses at the HTTP level, before authentication and before
 * Jolokia reads a byte of the body — each with an error that says why.
 *
 * <ul>
 *   <li><b>Cross-site requests (403).</b> A web page open in the operator's browser can make the
 *   browser send requests here, with the operator's cached login. A browser says where a request
 *   comes from: an {@code Origin} other than the endpoint's own, or a {@code Sec-Fetch-Site}
 *   other than same-origin or none (typed in the address bar), is refused. The CLI, curl and
 *   hawtio's server-side proxy send neither, and are served. No {@code Access-Control-Allow-*}
 *   header ever reaches a foreign origin: the request ends here.</li>
 *   <li><b>A POST whose body is not JSON (415).</b> A page can POST a form (or text/plain) to any
 *   address without asking; it cannot send {@code application/json} cross-site without the
 *   CORS preflight refused above. So exec and write — POST only, {@link RequestChecks} refuses
 *   their GET forms — cannot come from a form.</li>
 *   <li><b>A method other than GET, POST and OPTIONS (405).</b></li>
 *   <li><b>A body over {@value #MAX_BODY_BYTES} bytes (413):</b> Jolokia reads a body whole
 *   into the master's heap.</li>
 * </ul>
 */
final class HttpRequestGuard extends Filter {
    static final int MAX_BODY_BYTES = 1 << 20;
    private static final Set<String> METHODS = Set.of("GET", "POST", "OPTIONS");
    private static final Set<String> OWN_FETCH_SITES = Set.of("same-origin", "none");

    private final String scheme;

    /** @param scheme {@code http} or {@code https}: how the endpoint's own origin starts */
    HttpRequestGuard(String scheme) {
        this.scheme = scheme;
    }

    @Override
    public String description() {
        return "herd: no cross-site requests, JSON bodies only, bounded";
    }

    @Override
    public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
        String refusal = refusal(exchange);
        if (refusal != null) {
            refuse(exchange, refusal);
            return;
        }
        exchange.setStreams(new Bounded(exchange.getRequestBody()), null);
        chain.doFilter(exchange);
    }

    /** Why the request is refused, as "status reason"; null when it may go on. */
    private String refusal(HttpExchange exchange) {
        Headers headers = exchange.getRequestHeaders();
        String method = exchange.getRequestMethod();
        if (!METHODS.contains(method)) return "405 " + method + " is not served here: GET, POST or OPTIONS";
        List<String> origins = headers.get("Origin");
        if (origins != null && (origins.size() != 1 || !origins.getFirst().equalsIgnoreCase(ownOrigin(headers)))) {
            return "403 cross-site requests are refused: this endpoint serves no web page, and a page elsewhere may not use it";
        }
        String site = headers.getFirst("Sec-Fetch-Site");
        if (site != null && !OWN_FETCH_SITES.contains(site.toLowerCase(Locale.ROOT))) {
            return "403 cross-site requests are refused (Sec-Fetch-Site: " + site + ")";
        }
        if (method.equals("POST")) {
            String type = headers.getFirst("Content-Type");
            String mediaType = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
            if (!mediaType.equals("application/json")) {
                return "415 a POST must carry its JSON as Content-Type: application/json (curl: -H 'Content-Type: application/json')";
            }
            String length = headers.getFirst("Content-Length");
            if (length != null && tooLong(length)) return "413 the request body is over " + MAX_BODY_BYTES + " bytes";
        }
        return null;
    }

    /** What a browser puts in Origin for a page served by this endpoint itself: scheme://host[:port] as the request's Host says. */
    private String ownOrigin(Headers headers) {
        String host = headers.getFirst("Host");
        return host == null ? null : scheme + "://" + host;
    }

    private static boolean tooLong(String contentLength) {
        try {
            return Long.parseLong(contentLength.strip()) > MAX_BODY_BYTES;
        } catch (NumberFormatException e) {
            return false; // the JDK's server refuses it itself
        }
    }

    private static void refuse(HttpExchange exchange, String refusal) throws IOException {
        int status = Integer.parseInt(refusal.substring(0, 3));
        String reason = refusal.substring(4);
        byte[] body = ("{\"status\":" + status + ",\"error_type\":\"herd\",\"error\":\"" + reason.replace("\\", "\\\\").replace("\"", "\\\"")
                + "\"}\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        if (status == 405) exchange.getResponseHeaders().set("Allow", String.join(", ", METHODS));
        exchange.getResponseHeaders().set("Connection", "close");
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** A request body that fails past {@link #MAX_BODY_BYTES}, when no Content-Length said so first (chunked). */
    private static final class Bounded extends FilterInputStream {
        private long read;

        Bounded(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) count(1);
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) count(n);
            return n;
        }

        private void count(int n) throws IOException {
            read += n;
            if (read > MAX_BODY_BYTES) throw new IOException("the request body is over " + MAX_BODY_BYTES + " bytes");
        }
    }
}
