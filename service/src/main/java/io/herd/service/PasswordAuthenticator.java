package io.herd.service;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpPrincipal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * HTTP Basic authentication against one user and password, for the Jolokia endpoint.
 *
 * <p>herd's own rather than the JDK's {@code BasicAuthenticator}, which throws on a header that
 * is not base64 or has no colon — and the JDK's server then drops the connection without an
 * answer. Here every request without the right credentials, garbled ones included, gets a 401
 * with the challenge. Both user and password are compared in full, in constant time, so how long
 * a refusal takes says nothing about how much of a guess was right.
 */
final class PasswordAuthenticator extends Authenticator {
    private final String realm;
    private final String user;
    private final byte[] expected;

    PasswordAuthenticator(String realm, String user, String password) {
        this.realm = realm;
        this.user = user;
        this.expected = (user + ":" + password).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Result authenticate(HttpExchange exchange) {
        byte[] given = credentials(exchange.getRequestHeaders().getFirst("Authorization"));
        if (given != null && MessageDigest.isEqual(given, expected)) return new Success(new HttpPrincipal(user, realm));
        exchange.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"" + realm + "\", charset=\"UTF-8\"");
        return new Retry(401);
    }

    /** The decoded {@code user:password} of a Basic Authorization header; null when absent or not Basic base64. */
    private static byte[] credentials(String header) {
        if (header == null) return null;
        int space = header.indexOf(' ');
        if (space < 0 || !header.substring(0, space).equalsIgnoreCase("Basic")) return null;
        try {
            return Base64.getDecoder().decode(header.substring(space + 1).strip());
        } catch (IllegalArgumentException notBase64) {
            return null;
        }
    }
}
