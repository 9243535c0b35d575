package io.herd.service;

import io.herd.engine.WorkerOutput;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.ThreadContext;

/**
 * Workers' output into log4j, logger {@code herd.worker}, with the thread context key
 * {@code worker} set to {@code <app>-<instance>-<out|err>}: conf/log4j2.xml routes each key to
 * its own rolling file, so every instance's log rotates by size and keeps a bounded history.
 */
final class Log4jWorkerOutput implements WorkerOutput {
    private static final Logger LOG = LogManager.getLogger("herd.worker");

    @Override
    public void line(String app, int instance, String stream, String line) {
        // Each stream has a reader thread of its own: the key is set once per thread.
        String key = app + "-" + instance + "-" + stream;
        if (!key.equals(ThreadContext.get("worker"))) ThreadContext.put("worker", key);
        LOG.info(line);
    }
}
