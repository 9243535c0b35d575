package io.herd.config;

/** How the master gives an accepted connection to a worker; written handoff or proxy. */
public enum Dispatch {
    /**
     * The socket itself goes to the worker (SCM_RIGHTS over its IPC channel); the master never
     * sees a byte. Needs the worker SDK.
     */
    HANDOFF,
    /**
     * The master relays the bytes to and from the worker's own loopback port (given in
     * {@code PORT}): any server, unmodified.
     */
    PROXY
}
