package io.herd.service;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** What a reliability test measured: printed, and appended to target/reliability-figures.txt for docs/RELIABILITY.md. */
final class Figures {
    private static final Path FILE = Path.of("target", "reliability-figures.txt");

    private Figures() {
    }

    static void record(String test, String figures) {
        String line = test + ": " + figures;
        System.out.println("[figures] " + line);
        try {
            Files.createDirectories(FILE.getParent());
            Files.writeString(FILE, line + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
