package io.herd.engine;

import java.lang.System.Logger.Level;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Where every {@link Error} escaping one of the master's threads goes, on its way to the owner's
 * {@link FatalErrorHandler}. Without it such a thread dies silently (or, in an executor, the
 * Error is kept in a future nobody reads) and the process lives on, broken: an accept loop that
 * no longer accepts, a relay whose connections hang. The master's threads run their bodies
 * {@link #guarded}, its event loops {@link #report} what they catch, and its timer is made here.
 * The first Error reaches the handler; later ones — often the same exhaustion, felt by other
 * threads — are only logged.
 */
final class FatalErrors {
    private static final System.Logger LOG = System.getLogger(FatalErrors.class.getName());

    private final FatalErrorHandler handler;
    private final AtomicBoolean reported = new AtomicBoolean();

    FatalErrors(FatalErrorHandler handler) {
        this.handler = handler;
    }

    /**
     * True once an Error has gone to the handler: the service is going down, and starts nothing
     * new (a worker started now would outlive it, unsupervised).
     */
    boolean fatal() {
        return reported.get();
    }

    /** {@code body}, with an Error escaping it reported (the thread running it then ends). */
    Runnable guarded(Runnable body) {
        return () -> {
            try {
                body.run();
            } catch (Error error) {
                report(error);
            }
        };
    }

    /** Hands an Error caught on the current thread to the handler, or logs it if one was handed over already. */
    void report(Error error) {
        Thread thread = Thread.currentThread();
        if (!reported.compareAndSet(false, true)) {
            LOG.log(Level.ERROR, "another fatal error, in thread " + thread.getName() + ", while the first one is handled", error);
            return;
        }
        try {
            handler.onFatalError(thread, error);
        } catch (Throwable failed) {
            // The handler itself failed (out of memory still, say): say so where it is most likely seen.
            System.err.println("herd: fatal error in thread " + thread.getName() + ": " + error + "; its handler failed: " + failed);
        }
    }

    /**
     * A one-thread timer whose tasks' Errors are reported and whose other failures are logged:
     * a plain ScheduledThreadPoolExecutor keeps both in the task's future, unread, and silently
     * stops running a periodic task that threw.
     */
    ScheduledThreadPoolExecutor newTimer(String threadName) {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, threadName);
            thread.setDaemon(true);
            return thread;
        }) {
            @Override
            protected void afterExecute(Runnable task, Throwable thrown) {
                super.afterExecute(task, thrown);
                Throwable failure = thrown != null ? thrown : failureOf(task);
                if (failure instanceof Error error) report(error);
                else if (failure != null) LOG.log(Level.ERROR, threadName + ": a task failed", failure);
            }
        };
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }

    /** What a finished task threw, from its future (where the executor kept it); null if it did not. */
    private static Throwable failureOf(Runnable task) {
        if (!(task instanceof Future<?> future) || !future.isDone() || future.isCancelled()) return null;
        try {
            future.get();
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
