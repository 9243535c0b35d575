package io.herd.engine;

import java.util.function.Consumer;

/**
 * Where workers' stdout and stderr lines go when the service routes them (the service sends them
 * to log4j, which rotates each instance's file). Without one, each stream is appended to
 * {@code <logs>/<app>-<instance>-<stream>.log}.
 *
 * <p>Each stream of each worker has a reader thread of its own, which asks for its sink once,
 * then hands it one line at a time: what describes the stream (app, instance, pid) is set up
 * once, not per line, and a slow sink slows that worker's output down rather than piling lines
 * up in the master.
 */
@FunctionalInterface
public interface WorkerOutput {
    /**
     * The sink for one stream of one worker, asked for on the thread that then calls it with
     * every line of that stream, in order. Each line comes without its line end, and has at most
     * {@link #MAX_LINE} characters (longer lines arrive in pieces).
     *
     * @param app      the app
     * @param instance the worker's instance index
     * @param pid      the worker's process id
     * @param stream   "out" or "err"
     */
    Consumer<String> stream(String app, int instance, long pid, String stream);

    int MAX_LINE = 64 * 1024;
}
