package io.herd.service;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Who sent the HTTP request being served on this thread, and how many Jolokia requests it has
 * carried so far (a bulk request carries many). Bound by {@link ManagementHttpServer} around
 * Jolokia's handler, once the user is authenticated; read by {@link RequestChecks}. Unbound
 * means the request did not come through that path: it is refused, whatever it asks.
 */
record Caller(Role role, AtomicInteger requests) {
    static final ScopedValue<Caller> CURRENT = ScopedValue.newInstance();

    Caller(Role role) {
        this(role, new AtomicInteger());
    }

    /** The caller of the request being served, if any. */
    static Optional<Caller> current() {
        return CURRENT.isBound() ? Optional.of(CURRENT.get()) : Optional.empty();
    }
}
