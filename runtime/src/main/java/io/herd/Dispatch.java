package io.herd;

/** How the master gives an accepted connection to a worker. */
public enum Dispatch {
    /**
     * The socket itself goes to the worker (SCM_RIGHTS over its IPC channel); the master never
     * sees a byte. Needs the worker SDK.
     */
    HANDOFF("handoff"),
    /**
     * The master relays the bytes to and from the worker's own loopback port (given in
     * {@code PORT}): any server, unmodified.
     */
    PROXY("proxy");

    private final String key;

    Dispatch(String key) {
        this.key = key;
    }

    /** The value as written in the configuration. */
    public String key() {
        return key;
    }

    static Dispatch parse(String value) {
        for (Dispatch dispatch : values()) {
            if (dispatch.key.equals(value)) return dispatch;
        }
        return null;
    }
}
