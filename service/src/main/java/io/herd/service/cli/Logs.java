package io.herd.service.cli;

import org.jolokia.json.JSONObject;
import org.jolokia.json.parser.JSONParser;
import org.jolokia.json.parser.ParseException;

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
 *
 * <p>The files hold lines in either {@code herd.log.format}: {@code <timestamp> <line>} (text) or
 * one JSON object a line (json). Both print alike, as {@code <timestamp> <line>}, and with
 * {@code --json} as objects with {@code timestamp} and {@code line}; each line is read as what it
 * is, so a file written in both formats (the setting changed between two runs) reads whole.
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

    /** One line of a file: prefixed text, or (--json) one JSON object a line. */
    private void print(Path file, String fileLine) {
        LogLine line = LogLine.read(fileLine);
        if (!json) {
            out.println(prefix(file) + (line.timestamp() == null ? "" : line.timestamp() + " ") + line.text());
            return;
        }
        Matcher matcher = WORKER_FILE.matcher(file.getFileName().toString());
        JSONObject object = new JSONObject();
        object.put("app", app);
        if (matcher.find()) {
            object.put("instance", Integer.parseInt(matcher.group(1)));
            object.put("stream", matcher.group(2));
        }
        if (line.timestamp() != null) object.put("timestamp", line.timestamp());
        object.put("line", line.text());
        out.println(object.toJSONString());
    }

    /**
     * A worker's line as its log file holds it: when it was written, if the file says so in a form
     * known here, and what the worker wrote.
     */
    record LogLine(String timestamp, String text) {
        /** herd.log.format = text: conf/log4j2.xml's {@code %d{ISO8601} %m}, 2026-01-31T23:59:59,999 and the line. */
        private static final Pattern TEXT = Pattern.compile("(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[,.]\\d{3}\\S*) (.*)", Pattern.DOTALL);

        /**
         * Reads {@code line}: a JSON object with a string {@code message} (herd.log.format = json,
         * conf/herd-worker-log.json), or a timestamp and the text; anything else (a pattern the
         * operator changed, a line cut short) is the text as it is.
         */
        static LogLine read(String line) {
            if (line.startsWith("{")) {
                try {
                    JSONObject object = new JSONParser().parse(line, JSONObject.class);
                    if (object.get("message") instanceof String message) {
                        return new LogLine(object.get("timestamp") instanceof String timestamp ? timestamp : null, message);
                    }
                } catch (ParseException | IOException | RuntimeException notJson) {
                    // printed as it is
                }
                return new LogLine(null, line);
            }
            Matcher text = TEXT.matcher(line);
            return text.matches() ? new LogLine(text.group(1), text.group(2)) : new LogLine(null, line);
        }
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
