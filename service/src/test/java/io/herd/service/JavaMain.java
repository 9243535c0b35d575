package io.herd.service;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A test's main class run to its end in a JVM of its own, with the test's classpath: what another program on this host would do. */
final class JavaMain {
    private JavaMain() {
    }

    /** How the JVM ended: its exit code, and what it printed (stdout and stderr together). */
    record Ended(int exitCode, String output) {
    }

    /** What the JVM printed; fails when it does not end within a minute, or ends non-zero. */
    static String run(Class<?> main, List<String> jvmOptions, String... args) throws IOException, InterruptedException {
        Ended ended = runToEnd(main, jvmOptions, args);
        if (ended.exitCode() != 0) throw new AssertionError(main.getSimpleName() + " exited " + ended.exitCode() + ":\n" + ended.output());
        return ended.output();
    }

    /** Runs {@code main} to its end, whatever its exit code; fails when it does not end within a minute. */
    static Ended runToEnd(Class<?> main, List<String> jvmOptions, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx64m"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            // read on another thread: a full pipe must not stall the process, nor a stalled process this test
            CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
                try (var in = process.getInputStream()) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "(output lost: " + e + ")";
                }
            });
            if (!process.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError(main.getSimpleName() + " did not end within 60 s");
            return new Ended(process.exitValue(), output.join());
        } finally {
            process.destroyForcibly();
        }
    }
}
