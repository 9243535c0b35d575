package io.herd.engine;

/**
 * What the owner of a {@link Master} does when an {@link Error} escapes one of the master's own
 * threads: the accept loop, a relay loop, an app's event thread, a worker's IPC reader or output
 * pump, the housekeeping timer. After an Error (an OutOfMemoryError can strike between any two
 * statements) that thread is dead or its state is suspect, so the master cannot be trusted to go
 * on: a service exits and lets its supervisor start it afresh, an embedded master is stopped.
 */
@FunctionalInterface
public interface FatalErrorHandler {
    /**
     * Called on the thread that failed, once per master (later Errors are only logged). It may
     * not return: a service halts the JVM here.
     */
    void onFatalError(Thread thread, Error error);
}
