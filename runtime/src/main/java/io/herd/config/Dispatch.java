package io.herd.config;

/**
 * How an app's connections reach its workers; written handoff, shared or proxy. The README's
 * "Choosing a dispatch" says when to pick which.
 */
public enum Dispatch {
    /**
     * The master accepts each connection and passes the socket itself to a worker (SCM_RIGHTS
     * over its IPC channel); the master never sees a byte. It places every connection (round-robin
     * or least-connections) and queues it while no worker is ready. Needs the worker SDK.
     */
    HANDOFF,
    /**
     * The listening socket itself goes to each worker in rotation, once, and the SDK accepts from
     * it: the master does no work per connection, and the kernel wakes one idle worker for each.
     * No least-connections and no master-side queue: the kernel's listen backlog is the queue.
     * Needs the worker SDK, speaking IPC 3.
     */
    SHARED,
    /**
     * The master relays the bytes to and from the worker's own loopback port (given in
     * {@code PORT}): any server, unmodified.
     */
    PROXY
}
