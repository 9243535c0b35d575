package io.herd.service.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the CLI in the test's JVM, capturing what it prints. */
public final class CliRunner {
    private CliRunner() {
    }

    public record Run(int exit, String out, String err) {
    }

    public static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs it on a thread of its own (for --follow); interrupt the thread to end it. */
    public static Thread start(OutputStream out, String... args) {
        return Thread.ofPlatform().start(() -> Cli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), System.err));
    }
}
