package io.herd.service;

import io.herd.service.cli.CliRunner;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/** {@code herd logs} against a service run as operators run it, writing its workers' logs under its home. */
@Timeout(120)
class LogsCommandTest {
    @TempDir
    Path home;

    @Test
    void logsShowEachWorkersOutputAndFollowNewLines() throws Exception {
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 2, ""))) {
            herd.awaitOutput("-> online", 2);
            String url = herd.jolokiaUrl();
            System.setProperty("herd.home", home.toString()); // the CLI finds logs/ and var/ under herd's home
            try {
                CliRunner.Run logs = Await.until("both workers' lines in herd logs", () -> CliRunner.run("logs", "hello", "--lines", "5"),
                        run -> run.out().contains("hello#0 out") && run.out().contains("hello#1 out"), Duration.ofSeconds(30));
                assertThat(logs.err(), logs.exit(), is(0));
                assertThat(logs.out(), containsString("[hello#0 out] "));
                assertThat(logs.out(), containsString("serving for herd app hello"));
                String firstJson = CliRunner.run("logs", "hello", "--lines", "1", "--json").out().lines().findFirst().orElseThrow();
                org.jolokia.json.JSONObject line = new org.jolokia.json.parser.JSONParser().parse(firstJson, org.jolokia.json.JSONObject.class);
                assertThat(line.get("app"), is("hello"));
                assertThat(line.get("stream"), is("out"));

                ByteArrayOutputStream followed = new ByteArrayOutputStream();
                Thread follower = CliRunner.start(followed, "logs", "hello", "--follow", "--lines", "0");
                try {
                    assertThat(CliRunner.run("scale", "hello", "+1", "--url", url).exit(), is(0)); // a new worker, a new log line
                    Await.until("the new worker's line, followed", () -> followed.toString(StandardCharsets.UTF_8),
                            out -> out.contains("[hello#2 out]"), Duration.ofSeconds(30));
                } finally {
                    follower.interrupt();
                    follower.join(10_000);
                }
                assertThat(CliRunner.run("logs", "nosuch").exit(), is(1));
            } finally {
                System.clearProperty("herd.home");
            }
        }
    }
}
