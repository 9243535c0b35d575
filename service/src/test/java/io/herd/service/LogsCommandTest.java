package io.herd.service;

import io.herd.service.cli.CliRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

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
                long deadline = System.nanoTime() + 30_000_000_000L;
                CliRunner.Run logs = CliRunner.run("logs", "hello", "--lines", "5");
                while (!(logs.out().contains("hello#0 out") && logs.out().contains("hello#1 out")) && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                    logs = CliRunner.run("logs", "hello", "--lines", "5");
                }
                assertThat(logs.err(), logs.exit(), is(0));
                assertThat(logs.out(), containsString("[hello#0 out] "));
                assertThat(logs.out(), containsString("serving for herd app hello"));
                String firstJson = CliRunner.run("logs", "hello", "--lines", "1", "--json").out().lines().findFirst().orElseThrow();
                org.jolokia.json.JSONObject line = new org.jolokia.json.parser.JSONParser().parse(firstJson, org.jolokia.json.JSONObject.class);
                assertThat(line.get("app"), is("hello"));
                assertThat(line.get("stream"), is("out"));

                ByteArrayOutputStream followed = new ByteArrayOutputStream();
                Thread follower = CliRunner.start(followed, "logs", "hello", "--follow", "--lines", "0");
                assertThat(CliRunner.run("scale", "hello", "+1", "--url", url).exit(), is(0)); // a new worker, a new log line
                while (!followed.toString(StandardCharsets.UTF_8).contains("[hello#2 out]") && System.nanoTime() < deadline) Thread.sleep(50);
                follower.interrupt();
                follower.join(10_000);
                assertThat(followed.toString(StandardCharsets.UTF_8), containsString("[hello#2 out]"));
                assertThat(CliRunner.run("logs", "nosuch").exit(), is(1));
            } finally {
                System.clearProperty("herd.home");
            }
        }
    }
}
