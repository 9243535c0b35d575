package io.herd.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an app's HTTP health check asks for ({@code app.<name>.health.url}): a path, and the Host
 * header to send with it. The check always goes to the one worker being checked, never to the
 * host a URL names: that host only names the Host header.
 *
 * <p>Read from the configuration as a path ({@code /healthz}) or a plain-HTTP URL
 * ({@code http://example.com:8080/healthz?deep=1}). Both end up verbatim in the request line and
 * the Host header, so only what RFC 3986 allows there is taken: no space, no control character,
 * no CR or LF, nothing that could end the request line or start another header.
 *
 * @param host the Host header's value ({@code host[:port]}), or null for {@link #DEFAULT_HOST}
 * @param path the request target: a path, with a query perhaps
 */
public record HealthUrl(String host, String path) {
    /** The Host header of a check configured as a bare path: the worker is on this machine. */
    public static final String DEFAULT_HOST = "localhost";
    /** The longest URL taken: a request line longer than this is a typo or an attack. */
    static final int MAX_LENGTH = 1024;

    /** A path: '/' then RFC 3986's pchar, '/' and '?', '%' only as the start of a %XX escape. */
    private static final Pattern PATH = Pattern.compile("/(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*");
    /** A host name or IPv4 address, or an IPv6 address in brackets; then an optional port. */
    private static final Pattern HOST = Pattern.compile("([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+])(?::(\\d{1,5}))?");
    private static final String RULE = "a path such as /healthz, or a URL such as http://localhost:8080/healthz";

    public HealthUrl {
        if (host != null && !hostMatches(host)) throw new IllegalArgumentException("'" + host + "' is not a host[:port]");
        if (!PATH.matcher(path).matches()) throw new IllegalArgumentException("'" + path + "' is not a path");
    }

    /** The Host header's value. */
    public String hostHeader() {
        return host == null ? DEFAULT_HOST : host;
    }

    /** As the configuration writes it, which {@link #parse} reads back to the same value. */
    @Override
    public String toString() {
        return host == null ? path : "http://" + host + path;
    }

    /**
     * Reads a health URL: a path, or {@code http://host[:port][/path]}.
     *
     * @throws IllegalArgumentException saying what is wrong with it, quoted with control characters shown as codes
     */
    public static HealthUrl parse(String text) {
        String shown = "'" + HerdConfig.printable(text) + "'";
        if (text.length() > MAX_LENGTH) throw new IllegalArgumentException("is longer than " + MAX_LENGTH + " characters");
        if (text.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            throw new IllegalArgumentException(shown + " holds a space, a control character or a non-ASCII character: "
                    + "write them %-escaped (%20)");
        }
        if (text.contains("#")) throw new IllegalArgumentException(shown + " has a fragment (#...): a request sends none; remove it");
        if (text.regionMatches(true, 0, "https://", 0, 8)) {
            throw new IllegalArgumentException(shown + ": https is not supported: the master checks each worker itself, "
                    + "in plain HTTP, as it hands it clients' connections; write http:// or just the path");
        }
        if (text.startsWith("/")) return checked(text, null, text);
        if (!text.regionMatches(true, 0, "http://", 0, 7)) throw new IllegalArgumentException(shown + " is not " + RULE);
        String rest = text.substring(7);
        int slash = rest.indexOf('/');
        int query = rest.indexOf('?');
        int hostEnd = slash < 0 ? (query < 0 ? rest.length() : query) : (query < 0 ? slash : Math.min(slash, query));
        String host = rest.substring(0, hostEnd);
        String path = rest.substring(hostEnd);
        if (host.contains("@")) throw new IllegalArgumentException(shown + " holds a user name or password (@): a check sends none");
        if (!hostMatches(host)) throw new IllegalArgumentException(shown + " does not name a host[:port] after http://");
        return checked(text, host, path.isEmpty() ? "/" : path.startsWith("?") ? "/" + path : path);
    }

    private static HealthUrl checked(String text, String host, String path) {
        if (!PATH.matcher(path).matches()) {
            throw new IllegalArgumentException("'" + text + "' has a path with a character a request line may not hold as it is: "
                    + "write it %-escaped");
        }
        return new HealthUrl(host, path);
    }

    private static boolean hostMatches(String host) {
        Matcher matcher = HOST.matcher(host);
        if (!matcher.matches()) return false;
        if (matcher.group(2) == null) return true;
        int port = Integer.parseInt(matcher.group(2));
        return port >= 1 && port <= 65535;
    }
}
