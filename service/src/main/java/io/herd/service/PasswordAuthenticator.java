package io.herd.service;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpPrincipal;

import java.util.Base64;
import java.util.Optional;

/**
 * HTTP Basic authentication against the service's {@link Users}, for the Jolokia endpoint. The
 * principal's name is the user's, which {@link ManagementHttpServer} turns into its {@link Role}.
 *
 * <p>herd's own rather than the JDK's {@code BasicAuthenticator}, which throws on a header that
 * is not base64 or has no colon — and the JDK's server then drops the connection without an
 * answer. Here every request without the right credentials, garbled ones included, gets a 401
 * with the challenge. The comparison is {@link Users#authenticate}'s: in full, in constant time.
 */
final class PasswordAuthenticator extends Authenticator {
    private final String realm;
    private final Users users;

    PasswordAuthenticator(String realm, Users users) {
        this.realm = realm;
        this.users = users;
    }

    @Override
    public Result authenticate(HttpExchange exchange) {
        byte[] given = credentials(exchange.getRequestHeaders().getFirst("Authorization"));
        Optional<Role> role = given == null ? Optional.empty() : users.authenticate(given);
        if (role.isPresent()) return new Success(new HttpPrincipal(role.get().user(), realm));
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
