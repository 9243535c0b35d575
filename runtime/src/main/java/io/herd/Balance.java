package io.herd;

/** How the master picks the worker for a new connection. */
public enum Balance {
    /** Each ready worker in turn. */
    ROUND_ROBIN("round-robin"),
    /** The ready worker with the fewest open connections (ties in turn). */
    LEAST_CONNECTIONS("least-connections");

    private final String key;

    Balance(String key) {
        this.key = key;
    }

    /** The value as written in the configuration. */
    public String key() {
        return key;
    }

    static Balance parse(String value) {
        for (Balance balance : values()) {
            if (balance.key.equals(value)) return balance;
        }
        return null;
    }
}
