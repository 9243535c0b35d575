package io.herd.service;

import java.util.Optional;

/**
 * Who a management request comes from, over Jolokia and JMX alike. The operator may do
 * everything herd offers; the monitor may only look.
 */
enum Role {
    /** User {@code herd}: reads, and every operation (scale, reload, startJar, ...). */
    OPERATOR("herd"),
    /** User {@code herd-monitor}: read, list, search and version only; never an operation or a write. */
    MONITOR("herd-monitor");

    /**
     * The role of the request being served on this thread, bound by the HTTP server around
     * Jolokia's handler. Unbound means the request did not come through that path: refuse it.
     */
    static final ScopedValue<Role> CURRENT = ScopedValue.newInstance();

    private final String user;

    Role(String user) {
        this.user = user;
    }

    /** The user name this role logs in with. */
    String user() {
        return user;
    }

    static Optional<Role> ofUser(String user) {
        for (Role role : values()) {
            if (role.user.equals(user)) return Optional.of(role);
        }
        return Optional.empty();
    }

    /** The role bound for the current request, if any. */
    static Optional<Role> current() {
        return CURRENT.isBound() ? Optional.of(CURRENT.get()) : Optional.empty();
    }
}
