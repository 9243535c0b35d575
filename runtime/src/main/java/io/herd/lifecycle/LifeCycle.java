package io.herd.lifecycle;

/**
 * The one lifecycle every herd component has, after Jetty's: STOPPED → STARTING → STARTED →
 * STOPPING → STOPPED, or FAILED when starting or stopping threw. Subclasses implement
 * {@link #doStart()} and {@link #doStop()}; {@link #start()} and {@link #stop()} do the
 * bookkeeping and are idempotent.
 */
public abstract class LifeCycle {
    public enum State { STOPPED, STARTING, STARTED, STOPPING, FAILED }

    private volatile State state = State.STOPPED;

    public final synchronized void start() throws Exception {
        if (state == State.STARTED || state == State.STARTING) return;
        state = State.STARTING;
        try {
            doStart();
            state = State.STARTED;
        } catch (Exception | Error e) {
            state = State.FAILED;
            throw e;
        }
    }

    public final synchronized void stop() throws Exception {
        if (state == State.STOPPED || state == State.STOPPING) return;
        state = State.STOPPING;
        try {
            doStop();
            state = State.STOPPED;
        } catch (Exception | Error e) {
            state = State.FAILED;
            throw e;
        }
    }

    public final State state() {
        return state;
    }

    public final boolean isRunning() {
        State now = state;
        return now == State.STARTED || now == State.STARTING;
    }

    protected abstract void doStart() throws Exception;

    protected abstract void doStop() throws Exception;
}
