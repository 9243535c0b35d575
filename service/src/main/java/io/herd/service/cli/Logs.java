package io.herd.service.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code herd logs <app>}: each worker's output files, read where the service writes them
 * (logs/<app>-<instance>-<out|err>.log), every line prefixed with its worker and stream; with
 * {@code --follow}, new lines as they come, across rotations.
 */
final class Logs {
    private static final long POLL_MILLIS = 250;
    /** Which worker and stream a log file is: {@code <app>-<instance>-<out|err>.log}. */
    private static final Pattern WORKER_FILE = Pattern.compile("-(\\d+)-(out|err)\\.log$");

    private final PrintStream out;
    private final PrintStream err;
    private final Path dir;
    private final String app;
    private final boolean json;

    Logs(PrintStream out, PrintStream err, Path dir, String app, boolean json) {
        this.out = out;
        this.err = err;
        this.dir = dir;
        this.app = app;
        this.json = json;
    }

    /** One line of output: prefixed text, or (--json) one JSON object a line. */
    private void print(Path file, String line) {
        if (!json) {
            out.println(prefix(file) + line);
            return;
        }
        Matcher matcher = WORKER_FILE.matcher(file.getFileName().toString());
        org.jolokia.json.JSONObject object = new org.jolokia.json.JSONObject();
        object.put("app", app);
        if (matcher.find()) {
            object.put("instance", Integer.parseInt(matcher.group(1)));
            object.put("stream", matcher.group(2));
        }
        object.put("line", line);
        out.println(object.toJSONString());
    }

    int show(int lines, boolean follow) {
        List<Path> files = files();
        if (files.isEmpty()) {
            err.println("herd: no logs for app '" + app + "' in " + dir);
            return Cli.FAILED;
        }
        Map<Path, Long> positions = new HashMap<>();
        for (Path file : files) {
            try {
                for (String line : tail(file, lines)) print(file, line);
                positions.put(file, Files.size(file));
            } catch (IOException e) {
                err.println("herd: cannot read " + file + ": " + e.getMessage());
                return Cli.FAILED;
            }
        }
        out.flush();
        while (follow && !out.checkError()) {
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return Cli.DONE;
            }
            for (Path file : files()) {
                long from = positions.getOrDefault(file, 0L);
                try {
                    long size = Files.size(file);
                    if (size < from) from = 0; // rotated: the file started again
                    if (size > from) {
                        try (RandomAccessFile reader = new RandomAccessFile(file.toFile(), "r")) {
                            reader.seek(from);
                            byte[] added = new byte[(int) Math.min(size - from, 1 << 20)];
                            reader.readFully(added);
                            String text = new String(added, StandardCharsets.UTF_8);
                            int end = text.lastIndexOf('\n') + 1; // whole lines only
                            for (String line : text.substring(0, end).split("\n", -1)) if (!line.isEmpty()) print(file, line);
                            from += text.substring(0, end).getBytes(StandardCharsets.UTF_8).length;
                        }
                    }
                    positions.put(file, from);
                } catch (IOException gone) {
                    positions.remove(file);
                }
            }
            out.flush();
        }
        return Cli.DONE;
    }

    private List<Path> files() {
        Pattern name = Pattern.compile(Pattern.quote(app) + "-(\\d+)-(out|err)\\.log");
        try (Stream<Path> listing = Files.list(dir)) {
            return listing.filter(path -> name.matcher(path.getFileName().toString()).matches()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private String prefix(Path file) {
        Matcher matcher = WORKER_FILE.matcher(file.getFileName().toString());
        return matcher.find() ? "[" + app + "#" + matcher.group(1) + " " + matcher.group(2) + "] " : "";
    }

    private static List<String> tail(Path file, int lines) throws IOException {
        ArrayDeque<String> last = new ArrayDeque<>();
        if (lines == 0) return List.of();
        try (Stream<String> all = Files.lines(file, StandardCharsets.UTF_8)) {
            all.forEach(line -> {
                if (last.size() == lines) last.removeFirst();
                last.addLast(line);
            });
        }
        return new ArrayList<>(last);
    }
}
