package io.herd.service;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

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
 *   <li><b>A host name that is not the endpoint's (403).</b> A page whose own name was made to
 *   resolve here (DNS rebinding) would otherwise count as the endpoint's own origin. A request
 *   may call the endpoint by an address, {@code localhost}, the configured host or this host's
 *   name.</li>
 *   <li><b>JSONP (403):</b> a {@code callback} parameter would wrap the answer in a script any
 *   page could load.</li>
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
    private final Set<String> ownNames;

    /**
     * @param scheme   {@code http} or {@code https}: how the endpoint's own origin starts
     * @param ownNames the host names (lower case) a request may call the endpoint by, besides an
     *                 address and {@code localhost}: the configured host, this host's own name
     */
    HttpRequestGuard(String scheme, Set<String> ownNames) {
        this.scheme = scheme;
        this.ownNames = Set.copyOf(ownNames);
    }

    @Override
    public String description() {
        return "herd: no cross-site requests, JSON bodies only, bounded";
    }

    @Override
    public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
        Refusal refusal = refusal(exchange);
        if (refusal != null) {
            refuse(exchange, refusal);
            return;
        }
        exchange.setStreams(new Bounded(exchange.getRequestBody()), null);
        chain.doFilter(exchange);
    }

    /** Why a request is not served: its HTTP status and the reason, which the answer says. */
    private record Refusal(int status, String reason) {
    }

    /** Why the request is refused; null when it may go on. */
    private Refusal refusal(HttpExchange exchange) {
        Headers headers = exchange.getRequestHeaders();
        String method = exchange.getRequestMethod();
        if (!METHODS.contains(method)) return new Refusal(405, method + " is not served here: GET, POST or OPTIONS");
        String host = headers.getFirst("Host");
        if (host != null && !isOwnName(host)) {
            // A page whose name was made to point here (DNS rebinding) is "same origin" with it:
            // refused because the name is not one this endpoint goes by.
            return new Refusal(403, "requests must call this endpoint by its address, localhost or this host's name, not " + printable(host));
        }
        List<String> origins = headers.get("Origin");
        if (origins != null && (origins.size() != 1 || !origins.getFirst().equalsIgnoreCase(ownOrigin(host)))) {
            return new Refusal(403, "cross-site requests are refused: this endpoint serves no web page, and a page elsewhere may not use it");
        }
        String site = headers.getFirst("Sec-Fetch-Site");
        if (site != null && !OWN_FETCH_SITES.contains(site.toLowerCase(Locale.ROOT))) {
            return new Refusal(403, "cross-site requests are refused (Sec-Fetch-Site: " + printable(site) + ")");
        }
        if (hasParameter(exchange.getRequestURI().getRawQuery(), "callback")) {
            // JSONP: a <script> tag on any page could load the answer, and read it
            return new Refusal(403, "JSONP (a callback parameter) is not served: a page elsewhere could read the answer");
        }
        if (method.equals("POST")) {
            String type = headers.getFirst("Content-Type");
            String mediaType = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
            if (!mediaType.equals("application/json")) {
                return new Refusal(415, "a POST must carry its JSON as Content-Type: application/json (curl: -H 'Content-Type: application/json')");
            }
            String length = headers.getFirst("Content-Length");
            if (length != null && tooLong(length)) return new Refusal(413, "the request body is over " + MAX_BODY_BYTES + " bytes");
        }
        return null;
    }

    /** True for an address (v4, or v6 in brackets), localhost, or one of this endpoint's own names, with any port. */
    private boolean isOwnName(String host) {
        String name = host.strip().toLowerCase(Locale.ROOT);
        if (name.startsWith("[")) return name.indexOf(']') > 0; // an IPv6 literal: no name to rebind
        int colon = name.lastIndexOf(':');
        if (colon >= 0) name = name.substring(0, colon);
        return name.equals("localhost") || IPV4.matcher(name).matches() || ownNames.contains(name);
    }

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** What a browser puts in Origin for a page served by this endpoint itself: scheme://host[:port] as the request's Host says. */
    private String ownOrigin(String host) {
        return host == null ? null : scheme + "://" + host;
    }

    private static boolean hasParameter(String rawQuery, String name) {
        if (rawQuery == null) return false;
        for (String parameter : rawQuery.split("&")) {
            String key = parameter.split("=", 2)[0];
            if (URLDecoder.decode(key, StandardCharsets.UTF_8).strip().equalsIgnoreCase(name)) return true;
        }
        return false;
    }

    private static boolean tooLong(String contentLength) {
        try {
            return Long.parseLong(contentLength.strip()) > MAX_BODY_BYTES;
        } catch (NumberFormatException e) {
            return false; // the JDK's server refuses it itself
        }
    }

    /** At most 80 characters of what a client sent, control characters shown as '?': an error message is no place for its payload. */
    private static String printable(String text) {
        String shown = text.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return shown.length() > 80 ? shown.substring(0, 80) + "..." : shown;
    }

    private static void refuse(HttpExchange exchange, Refusal refusal) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        if (refusal.status() == 405) exchange.getResponseHeaders().set("Allow", String.join(", ", METHODS));
        exchange.getResponseHeaders().set("Connection", "close");
        if (exchange.getRequestMethod().equals("HEAD")) {
            exchange.sendResponseHeaders(refusal.status(), -1); // a HEAD answer has no body
            exchange.close();
            return;
        }
        byte[] body = ("{\"status\":" + refusal.status() + ",\"error_type\":\"herd\",\"error\":\""
                + refusal.reason().replace("\\", "\\\\").replace("\"", "\\\"") + "\"}\n").getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(refusal.status(), body.length);
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
