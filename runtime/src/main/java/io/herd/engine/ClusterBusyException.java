package io.herd.engine;

/**
 * An operation refused because another one runs on the same app (a CLI reload, a health or
 * memory replacement): nothing changed, and the same operation may succeed once the other has
 * finished. Its message says which operation is in progress ("busy: ...").
 */
public final class ClusterBusyException extends IllegalStateException {
    ClusterBusyException(String message) {
        super(message);
    }
}
