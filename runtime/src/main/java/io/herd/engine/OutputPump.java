package io.herd.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/** Reads a worker's stdout or stderr line by line into a {@link WorkerOutput}, never more than a line at a time. */
final class OutputPump implements Runnable {
    private final InputStream in;
    private final WorkerOutput output;
    private final String app;
    private final int instance;
    private final long pid;
    private final String stream;

    private OutputPump(InputStream in, WorkerOutput output, String app, int instance, long pid, String stream) {
        this.in = in;
        this.output = output;
        this.app = app;
        this.instance = instance;
        this.pid = pid;
        this.stream = stream;
    }

    static void start(InputStream in, WorkerOutput output, String app, int instance, long pid, String stream, FatalErrors fatalErrors) {
        // A pump that died would leave the worker blocked on a full pipe: its Error is fatal.
        Thread thread = new Thread(fatalErrors.guarded(new OutputPump(in, output, app, instance, pid, stream)), "herd-" + app + "-" + instance + "-" + stream);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void run() {
        Consumer<String> sink = sink();
        byte[] line = new byte[WorkerOutput.MAX_LINE];
        byte[] chunk = new byte[8192];
        int length = 0;
        try (in) {
            int read;
            while ((read = in.read(chunk)) >= 0) {
                for (int i = 0; i < read; i++) {
                    byte b = chunk[i];
                    if (b == '\n' || length == line.length) {
                        emit(sink, line, length);
                        length = 0;
                        if (b == '\n') continue;
                    }
                    line[length++] = b;
                }
            }
            if (length > 0) emit(sink, line, length);
        } catch (IOException closed) {
            // the worker is gone
        }
    }

    /** The sink for this stream, set up on this thread; one that cannot be had drops the lines, still read to the end. */
    private Consumer<String> sink() {
        try {
            return output.stream(app, instance, pid, stream);
        } catch (RuntimeException e) {
            // the stream is still read to its end: a worker must never block on a full pipe
            System.getLogger(OutputPump.class.getName()).log(System.Logger.Level.WARNING, "worker output sink failed; " + app + " #"
                    + instance + "'s " + stream + " is dropped", e);
            return dropped -> { };
        }
    }

    private static void emit(Consumer<String> sink, byte[] line, int length) {
        if (length > 0 && line[length - 1] == '\r') length--;
        try {
            sink.accept(new String(line, 0, length, StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            System.getLogger(OutputPump.class.getName()).log(System.Logger.Level.WARNING, "worker output sink failed", e);
        }
    }
}
