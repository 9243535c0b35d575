package io.herd.service;

import javax.management.remote.JMXAuthenticator;
import javax.management.remote.JMXPrincipal;
import javax.security.auth.Subject;
import java.util.Optional;
import java.util.Set;

/**
 * Logs a JMX connector client in as one of the service's {@link Users}, with the credentials
 * JConsole sends: {@code String[] {user, password}}. The subject it returns names the user,
 * which {@link JmxRoleCheck} turns into a {@link Role} on each call.
 *
 * <p>The comparison is {@link Users#authenticate}'s: in full, in constant time. A refusal says
 * neither which user exists nor what was wrong with the credentials. They reach this as Strings
 * only: the connector refuses any other class before deserializing it
 * ({@link JmxConnector#CREDENTIALS_FILTER}).
 */
final class JmxPasswordAuthenticator implements JMXAuthenticator {
    private final Users users;

    JmxPasswordAuthenticator(Users users) {
        this.users = users;
    }

    @Override
    public Subject authenticate(Object credentials) {
        Optional<Role> role = credentials instanceof String[] given && given.length == 2
                ? users.authenticate(given[0], given[1])
                : Optional.empty();
        if (role.isEmpty()) throw new SecurityException("wrong user or password (credentials are String[] {user, password})");
        return new Subject(true, Set.of(new JMXPrincipal(role.get().user())), Set.of(), Set.of());
    }
}
