package io.herd.service;

import io.herd.engine.WorkerOutput;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.ThreadContext;

import java.util.Map;
import java.util.function.Consumer;

/**
 * Workers' output into log4j, logger {@code herd.worker}, each line as it came (text mode adds a
 * timestamp, JSON mode makes it a string field: a line never adds fields of its own).
 *
 * <p>Each stream's reader thread carries, in its log4j thread context, what describes the stream:
 * {@code worker} = {@code <app>-<instance>-<out|err>}, which conf/log4j2.xml routes to a rolling
 * file of its own (so every instance's log rotates by size and keeps a bounded history), and
 * {@code app}, {@code instance}, {@code pid} and {@code stream}, which conf/herd-worker-log.json
 * makes fields of each JSON line. They are set once per stream: a line costs one log call.
 */
final class Log4jWorkerOutput implements WorkerOutput {
    private static final Logger LOG = LogManager.getLogger("herd.worker");

    @Override
    public Consumer<String> stream(String app, int instance, long pid, String stream) {
        ThreadContext.putAll(Map.of("worker", app + "-" + instance + "-" + stream, "app", app, "instance", Integer.toString(instance),
                "pid", Long.toString(pid), "stream", stream));
        return LOG::info;
    }
}
