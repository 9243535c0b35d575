package io.herd.service;

import io.herd.service.cli.CliRunner;
import io.herd.testing.Await;
import org.jolokia.json.JSONObject;
import org.jolokia.json.parser.JSONParser;
import org.jolokia.json.parser.ParseException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.startsWith;

/**
 * herd.log.format, on a service run as operators run it: in json, every line of herd.log, of the
 * console and of a worker's files is a JSON object with the documented fields, and a worker's line
 * comes back whole in {@code message} whatever it holds; in text, every worker line starts with
 * a timestamp. {@code herd logs} reads both.
 */
@Timeout(120)
class LogFormatTest {
    private static final String APP = "tricky";
    /** The workers' JVM options: UTF-8 on stdout and stderr whatever this host's locale is. */
    private static final String WORKER_OPTIONS = "app." + APP + ".jvm.options = -XX:+UseSerialGC -Xmx32m -XX:TieredStopAtLevel=1 "
            + "-Dstdout.encoding=UTF-8 -Dstderr.encoding=UTF-8\n";
    /** ISO 8601 to the millisecond, with the zone's offset (Z for UTC). */
    private static final String ISO_8601_MS = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)";
    /** conf/log4j2.xml's text timestamp, %d{ISO8601}. */
    private static final String TEXT_TIMESTAMP = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d,\\d{3}";

    @TempDir
    Path home;

    @Test
    void jsonLogsAreOneObjectALineWithEachWorkersLineWholeInItsMessage() throws Exception {
        Path config = ServiceProcess.workerConfig(home, APP, 1, TrickyLines.class, WORKER_OPTIONS + "herd.log.format = json\n");
        try (ServiceProcess herd = ServiceProcess.start(home, config)) {
            herd.awaitOutput("-> online", 1);
            List<ProcessHandle> workers = herd.workers();
            assertThat(workers, hasSize(1));
            long pid = workers.getFirst().pid();
            Path logs = home.resolve("logs");
            for (String stream : List.of("out", "err")) {
                Path file = logs.resolve(APP + "-0-" + stream + ".log");
                List<JSONObject> lines = Await.until(stream + "'s line in " + file, () -> objects(file),
                        objects -> objects.stream().anyMatch(line -> (stream + ": " + TrickyLines.LINE).equals(line.get("message"))),
                        Duration.ofSeconds(30));
                if (stream.equals("out")) {
                    // what became of the long line, in a few words: a failure would print 64 KiB otherwise
                    Await.until("the long line whole in " + file, () -> objects(file).stream().map(line -> String.valueOf(line.get("message")))
                                    .filter(message -> message.startsWith("long: "))
                                    .map(message -> message.equals(TrickyLines.LONG_LINE) ? "whole" : message.length() + " characters").toList(),
                            seen -> seen.contains("whole"), Duration.ofSeconds(30));
                }
                for (JSONObject line : lines) {
                    assertThat("only herd's fields: the worker's own JSON stays in message", line.keySet(),
                            is(Set.of("timestamp", "app", "instance", "pid", "stream", "message")));
                    assertThat((String) line.get("timestamp"), matchesPattern(ISO_8601_MS));
                    assertThat(OffsetDateTime.parse((String) line.get("timestamp")), is(notNullValue()));
                    assertThat(line.get("app"), is(APP));
                    assertThat(line.get("instance"), is("0"));
                    assertThat(line.get("pid"), is(Long.toString(pid)));
                    assertThat(line.get("stream"), is(stream));
                }
            }

            List<JSONObject> herdLog = objects(logs.resolve("herd.log"));
            assertThat(herdLog, hasItem(messageContaining("-> online")));
            for (JSONObject line : herdLog) {
                assertThat((String) line.get("timestamp"), matchesPattern(ISO_8601_MS));
                for (String field : List.of("level", "logger", "thread", "message")) {
                    assertThat(field + " in " + line, line.get(field), instanceOf(String.class));
                }
            }
            List<JSONObject> console = new ArrayList<>();
            for (String line : herd.output().lines().toList()) console.add(object(line, "the console"));
            assertThat(console, hasItem(messageContaining("-> online")));

            assertHerdLogsShowsBothLines(ISO_8601_MS);
        }
    }

    @Test
    void textLogsGiveEveryWorkerLineATimestamp() throws Exception {
        Path config = ServiceProcess.workerConfig(home, APP, 1, TrickyLines.class, WORKER_OPTIONS);
        try (ServiceProcess herd = ServiceProcess.start(home, config)) {
            herd.awaitOutput("-> online", 1);
            for (String stream : List.of("out", "err")) {
                Path file = home.resolve("logs").resolve(APP + "-0-" + stream + ".log");
                List<String> lines = Await.until(stream + "'s line in " + file, () -> lines(file),
                        read -> read.stream().anyMatch(line -> line.endsWith(stream + ": " + TrickyLines.LINE)), Duration.ofSeconds(30));
                assertThat(lines, everyItem(matchesPattern(TEXT_TIMESTAMP + " .*")));
            }
            assertThat(lines(home.resolve("logs").resolve("herd.log")), hasItem(matchesPattern(TEXT_TIMESTAMP + " INFO .*-> online.*")));
            assertHerdLogsShowsBothLines(TEXT_TIMESTAMP);
        }
    }

    @Test
    void anExceptionInJsonIsAFieldOfItsLogLine() throws Exception {
        JavaMain.run(LogsAnException.class, List.of("-Dlog4j2.configurationFile=" + Path.of("..", "conf", "log4j2.xml").toAbsolutePath().normalize()),
                home.resolve("logs").toString());
        List<JSONObject> lines = objects(home.resolve("logs").resolve("herd.log"));
        assertThat(lines.size(), is(1));
        JSONObject line = lines.getFirst();
        assertThat(line.get("level"), is("ERROR"));
        assertThat(line.get("logger"), is(LogsAnException.class.getName()));
        assertThat(line.get("message"), is("it broke"));
        assertThat((String) line.get("exception"), allOf(startsWith("java.lang.IllegalStateException: boom \"quoted\"\n"),
                containsString("\tat " + LogsAnException.class.getName() + ".main(")));
    }

    /** herd's own logging as HerdDaemon starts it (herd.logs.dir and herd.log.format first), writing one error with its exception. */
    static final class LogsAnException {
        public static void main(String[] args) {
            System.setProperty("herd.logs.dir", args[0]);
            System.setProperty("herd.log.format", "json");
            System.getLogger(LogsAnException.class.getName()).log(System.Logger.Level.ERROR, "it broke", new IllegalStateException("boom \"quoted\""));
        }
    }

    @Test
    void anUnknownFormatStopsTheServiceNamingTheFileTheKeyAndTheFormats() throws Exception {
        Path config = ServiceProcess.workerConfig(home, APP, 1, TrickyLines.class, "herd.log.format = yaml\n");
        try (ServiceProcess herd = ServiceProcess.start(home, config)) {
            assertThat(herd.waitFor(Duration.ofSeconds(30)), is(Main.FAILED));
            assertThat(herd.output(), containsString(config + ": herd.log.format: 'yaml' is not text or json"));
            assertThat(herd.workers().isEmpty(), is(true));
        }
    }

    /**
     * {@code herd logs}, and with {@code --json} (one object a line), shows the worker's out and err
     * lines whole, each with its timestamp, written as {@code timestamp} matches.
     */
    private void assertHerdLogsShowsBothLines(String timestamp) throws ParseException, IOException {
        System.setProperty("herd.home", home.toString()); // the CLI finds logs/ under herd's home
        try {
            CliRunner.Run shown = CliRunner.run("logs", APP);
            assertThat(shown.err(), shown.exit(), is(0));
            CliRunner.Run json = CliRunner.run("logs", APP, "--json");
            assertThat(json.err(), json.exit(), is(0));
            List<JSONObject> objects = new ArrayList<>();
            for (String line : json.out().lines().toList()) objects.add(object(line, "herd logs --json"));
            for (String stream : List.of("out", "err")) {
                String line = stream + ": " + TrickyLines.LINE;
                assertThat(shown.out(), matchesPattern("(?s).*\\[" + APP + "#0 " + stream + "] " + timestamp + " \\Q" + line + "\\E\n.*"));
                assertThat(objects, hasItem(lineIs(line)));
            }
            assertThat(objects.stream().map(object -> (String) object.get("timestamp")).toList(), everyItem(matchesPattern(timestamp)));
        } finally {
            System.clearProperty("herd.home");
        }
    }

    /** The whole lines of {@code file} (one being written, without its line end yet, is left for later). */
    private static List<String> lines(Path file) throws IOException {
        if (!Files.exists(file)) return List.of();
        String text = Files.readString(file, StandardCharsets.UTF_8);
        return text.substring(0, text.lastIndexOf('\n') + 1).lines().toList();
    }

    /** Every line of {@code file}, each parsed as a JSON object: a line that is not one fails the test. */
    private static List<JSONObject> objects(Path file) throws IOException, ParseException {
        List<JSONObject> objects = new ArrayList<>();
        for (String line : lines(file)) objects.add(object(line, file.toString()));
        return objects;
    }

    private static JSONObject object(String line, String where) throws ParseException, IOException {
        Object parsed = new JSONParser().parse(line);
        assertThat("a line of " + where + ": " + line, parsed, instanceOf(JSONObject.class));
        return (JSONObject) parsed;
    }

    private static org.hamcrest.Matcher<JSONObject> messageContaining(String text) {
        return new org.hamcrest.FeatureMatcher<>(containsString(text), "a message", "message") {
            @Override
            protected String featureValueOf(JSONObject line) {
                return String.valueOf(line.get("message"));
            }
        };
    }

    private static org.hamcrest.Matcher<JSONObject> lineIs(String text) {
        return new org.hamcrest.FeatureMatcher<>(is(text), "a line", "line") {
            @Override
            protected String featureValueOf(JSONObject line) {
                return String.valueOf(line.get("line"));
            }
        };
    }
}
