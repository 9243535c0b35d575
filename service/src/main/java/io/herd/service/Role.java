package io.herd.service;

import java.util.Optional;

/**
 * What a management user may do, over Jolokia and JMX alike. The operator may do everything herd
 * offers; the monitor may only look.
 */
enum Role {
    /** User {@code herd}: reads, and every operation (scale, reload, startJar, ...). */
    OPERATOR("herd"),
    /** User {@code herd-monitor}: read, list, search and version only; never an operation or a write. */
    MONITOR("herd-monitor");

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
}
