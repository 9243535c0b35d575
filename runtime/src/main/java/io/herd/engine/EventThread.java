package io.herd.engine;

import java.lang.System.Logger.Level;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A cluster's one event thread: the only thread that changes its workers' states, its instances
 * and its rotation. Other threads hand it work: {@link #post} (and go on), {@link #later} (after
 * a delay), {@link #call} (and wait for the result, bounded).
 *
 * <p>One thread rather than locks: each step of a worker's life reads and changes several things
 * together (the worker's state, its instance's slot, the rotation, a pending restart). Run one at
 * a time, in order, every step sees the others whole, with no lock to forget.
 */
final class EventThread {
    private static final System.Logger LOG = System.getLogger(EventThread.class.getName());

    private final String app;
    /** The master's timer and fatal-error handling: looked up when used, as the master makes its timer after its clusters. */
    private final Master master;
    private final ExecutorService executor;
    private volatile Thread thread;

    /** Thrown by {@link #call} once the event thread has stopped: nothing runs on it any more. */
    static final class Stopped extends IllegalStateException {
        Stopped(String app) {
            super("app " + app + " has stopped");
        }
    }

    EventThread(String app, Master master) {
        this.app = app;
        this.master = master;
        this.executor = Executors.newSingleThreadExecutor(runnable -> {
            Thread created = new Thread(runnable, "herd-" + app);
            created.setDaemon(true);
            thread = created;
            return created;
        });
    }

    /** Runs a task on the event thread; once it has stopped, the task is dropped: nothing is left to update. */
    void post(Runnable task) {
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, app + ": event failed", e);
                } catch (Error e) {
                    master.fatalErrors().report(e); // the app's state may be half-changed: not safe to go on
                }
            });
        } catch (RejectedExecutionException stopped) {
            // The cluster has stopped: nothing is left to update.
        }
    }

    /** Runs a task on the event thread after a delay. */
    ScheduledFuture<?> later(Runnable task, long delayMillis) {
        return master.housekeeping().schedule(() -> post(task), delayMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Runs {@code task} on the event thread and waits for its result, at most {@code timeoutMillis}.
     * Called on the event thread itself, it runs the task there and then, rather than wait for
     * itself.
     *
     * @throws Stopped               once the event thread has stopped
     * @throws IllegalStateException when it did not answer in time
     */
    <T> T call(Callable<T> task, long timeoutMillis) {
        if (Thread.currentThread() == thread) return callHere(task);
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    result.complete(task.call());
                } catch (Exception e) {
                    result.completeExceptionally(e);
                } catch (Error e) {
                    result.completeExceptionally(e);
                    master.fatalErrors().report(e);
                }
            });
        } catch (RejectedExecutionException stopped) {
            throw new Stopped(app);
        }
        try {
            return result.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) throw runtime;
            throw new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(app + ": no answer from the cluster's event thread", e);
        }
    }

    private static <T> T callHere(Callable<T> task) {
        try {
            return task.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Completes once the event thread has run what was posted before this: proof that it still
     * goes round (the service's watchdog asks). A stopped event thread has nothing left to watch,
     * and answers at once.
     */
    CompletableFuture<Void> roundTrip() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            executor.execute(() -> done.complete(null));
        } catch (RejectedExecutionException stopped) {
            done.complete(null);
        }
        return done;
    }

    /** Runs what was posted already, then stops: what is posted from now on is dropped. */
    void stop() {
        executor.shutdown();
    }
}
