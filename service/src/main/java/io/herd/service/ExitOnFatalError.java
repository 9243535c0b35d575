package io.herd.service;

import io.herd.config.AppConfig;
import io.herd.config.HerdConfig;
import io.herd.engine.FatalErrorHandler;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the service does when an {@link Error} escapes one of its threads — the master's (through
 * {@link FatalErrorHandler}) or any other (as the JVM's default uncaught-exception handler): it
 * says so, stops its workers and halts with {@link #EXIT_CODE}, so that its supervisor (systemd,
 * under jsvc or {@code herd run}) starts it afresh. It never lives on half-dead: an
 * {@code OutOfMemoryError: Direct buffer memory}, say, is thrown by Java code, which
 * {@code -XX:+ExitOnOutOfMemoryError} does not watch, and would otherwise end just the thread
 * that met it.
 *
 * <ol>
 *   <li>One line on stderr first (the logger may be what failed), then the log's;</li>
 *   <li>SIGTERM to every worker, so each can finish as it does on a stop: one without the SDK
 *       has no IPC channel whose end would tell it. Those still running after the longest
 *       {@code kill.timeout} get SIGKILL: no worker outlives the service unsupervised;</li>
 *   <li>{@link Runtime#halt}: no shutdown hook, which could hang after an Error.</li>
 * </ol>
 */
final class ExitOnFatalError implements FatalErrorHandler, Thread.UncaughtExceptionHandler {
    /** The status -XX:+ExitOnOutOfMemoryError exits with too: one code for "died of an Error". */
    static final int EXIT_CODE = 3;
    private static final System.Logger LOG = System.getLogger(ExitOnFatalError.class.getName());
    private static final long POLL_MILLIS = 20;
    private static final Duration DEFAULT_KILL_TIMEOUT = Duration.ofSeconds(5);

    private final Duration workerGrace;
    private final AtomicBoolean exiting = new AtomicBoolean();

    /** @param config the apps' kill.timeout bounds how long workers get to stop */
    ExitOnFatalError(HerdConfig config) {
        // apps added while it runs (startJar) take the default kill.timeout, 5 s
        this.workerGrace = config.apps().stream().map(AppConfig::killTimeout).max(Duration::compareTo)
                .filter(longest -> longest.compareTo(DEFAULT_KILL_TIMEOUT) > 0).orElse(DEFAULT_KILL_TIMEOUT);
    }

    @Override
    public void onFatalError(Thread thread, Error error) {
        if (!exiting.compareAndSet(false, true)) return; // another thread is taking the service down already
        try {
            tell(thread, error);
            stopWorkers();
        } catch (Throwable ignored) {
            // halt all the same
        } finally {
            Runtime.getRuntime().halt(EXIT_CODE);
        }
    }

    /** Errors go to {@link #onFatalError}; anything else is printed as the JVM would, and the thread ends. */
    @Override
    public void uncaughtException(Thread thread, Throwable throwable) {
        if (throwable instanceof Error error) {
            onFatalError(thread, error);
            return;
        }
        System.err.print("Exception in thread \"" + thread.getName() + "\" ");
        throwable.printStackTrace();
    }

    private static void tell(Thread thread, Error error) {
        String what = "FATAL: " + error + " in thread " + thread.getName()
                + ": stopping the workers and exiting with status " + EXIT_CODE + ", for the service's supervisor to restart it";
        try {
            System.err.println("herd: " + what);
            error.printStackTrace();
        } catch (Throwable ignored) {
            // try the log
        }
        try {
            LOG.log(Level.ERROR, what, error);
        } catch (Throwable ignored) {
            // said on stderr already
        }
    }

    /**
     * Every child of the service's JVM is a worker JVM: the service starts no other process. The
     * children are looked at again at each poll, and once more at the end: one whose start was
     * under way as the Error came (a restart of a worker that exited) is stopped too.
     */
    private void stopWorkers() throws InterruptedException {
        long deadline = System.nanoTime() + workerGrace.toNanos();
        Set<ProcessHandle> told = new HashSet<>();
        List<ProcessHandle> workers;
        while (!(workers = ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList()).isEmpty()
                && System.nanoTime() - deadline < 0) {
            for (ProcessHandle worker : workers) if (told.add(worker)) worker.destroy(); // SIGTERM, once each
            Thread.sleep(POLL_MILLIS);
        }
        ProcessHandle.current().children().forEach(ProcessHandle::destroyForcibly);
    }
}
