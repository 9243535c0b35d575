package io.herd.engine;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * What one of herd's classes logs while it is open (its warnings, and every line with its level), as operators read them. The runtime
 * has no logging library of its own: its System.Logger is java.util.logging's logger of the class's
 * name, which this listens to.
 */
final class LogCapture extends Handler implements AutoCloseable {
    /** Held here: java.util.logging keeps its loggers only weakly, and would drop this handler with one. */
    private final Logger logger;
    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final SimpleFormatter formatter = new SimpleFormatter();

    private LogCapture(Class<?> source) {
        logger = Logger.getLogger(source.getName());
        logger.addHandler(this);
    }

    static LogCapture of(Class<?> source) {
        return new LogCapture(source);
    }

    /** Every warning (or worse) logged so far, its parameters filled in. */
    List<String> warnings() {
        return List.copyOf(warnings);
    }

    /** Every line logged so far at INFO or above, as {@code LEVEL: message} (SEVERE is System.Logger's ERROR). */
    List<String> lines() {
        return List.copyOf(lines);
    }

    @Override
    public void publish(LogRecord record) {
        lines.add(record.getLevel().getName() + ": " + formatter.formatMessage(record));
        if (record.getLevel().intValue() >= Level.WARNING.intValue()) warnings.add(formatter.formatMessage(record));
    }

    @Override
    public void flush() {
        // nothing buffered
    }

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
