package io.herd.config;

/** How the master picks the worker for a new connection; written round-robin or least-connections. */
public enum Balance {
    /** Each ready worker in turn. */
    ROUND_ROBIN,
    /** The ready worker with the fewest open connections (ties in turn). */
    LEAST_CONNECTIONS
}
