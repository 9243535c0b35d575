package io.herd.engine;

/**
 * Where workers' stdout and stderr lines go when the service routes them (the service sends them
 * to log4j, which rotates each instance's file). Called on each stream's own reader thread, one
 * line at a time: a slow sink slows that worker's output down rather than piling lines up in the
 * master. Without one, each stream is appended to {@code <logs>/<app>-<instance>-<stream>.log}.
 */
@FunctionalInterface
public interface WorkerOutput {
    /**
     * @param app      the app
     * @param instance the worker's instance index
     * @param stream   "out" or "err"
     * @param line     one line, without its line end, at most {@link #MAX_LINE} characters (longer
     *                 lines arrive in pieces)
     */
    void line(String app, int instance, String stream, String line);

    int MAX_LINE = 64 * 1024;
}
