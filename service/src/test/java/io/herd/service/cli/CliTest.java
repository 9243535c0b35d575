package io.herd.service.cli;

import io.herd.config.HerdConfig;
import io.herd.service.HerdService;
import io.herd.service.TestServices;
import io.herd.testing.Await;
import java.time.Duration;
import org.jolokia.json.JSONArray;
import org.jolokia.json.JSONObject;
import org.jolokia.json.parser.JSONParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/** The herd CLI end to end against a running service, over real HTTP to its Jolokia endpoint. */
@Timeout(180)
class CliTest {
    private HerdService service;
    private HerdConfig config;

    @BeforeEach
    void start() throws Exception {
        config = TestServices.helloConfig(2, Map.of("max.instances", "4", "spares", "1"));
        service = new HerdService(config);
        service.start();
        Await.until("hello's 2 workers online and its spare ready", service.master().cluster("hello")::info,
                info -> info.online() >= 2 && info.spares() == 1, Duration.ofSeconds(60));
    }

    @AfterEach
    void stop() throws Exception {
        service.stop();
    }

    private CliRunner.Run herd(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--url", service.jolokiaUrl(), "--password-file", config.jolokia().passwordFile().toString()));
        return raw(all.toArray(String[]::new));
    }

    private static CliRunner.Run raw(String... args) {
        return CliRunner.run(args);
    }

    @Test
    void listAndStatsPrintAlignedTablesAndParseableJson() throws Exception {
        CliRunner.Run list = herd("list");
        assertThat(list.err(), list.exit(), is(0));
        assertThat(list.out(), containsString("APP    INSTANCES  ONLINE  SPARES"));
        assertThat("2 instances, 2 online, 1 spare", list.out(), containsString("hello  2          2       1 "));

        CliRunner.Run json = herd("list", "--json");
        JSONArray apps = new JSONParser().parse(json.out(), JSONArray.class);
        assertThat(((Map<?, ?>) apps.getFirst()).get("app"), is("hello"));

        CliRunner.Run stats = herd("stats", "hello", "--json");
        JSONObject hello = new JSONParser().parse(stats.out(), JSONObject.class);
        List<?> workers = (List<?>) hello.get("workers");
        assertThat(workers.stream().map(worker -> ((Map<?, ?>) worker).get("state")).toList(), containsInAnyOrder("online", "online", "spare"));
        assertThat(((Number) hello.get("spares")).intValue(), is(1));
        String text = herd("stats", "hello").out();
        assertThat(text, containsString("2 instances, 2 online, 1 spares"));
        assertThat(text, containsString("INSTANCE  PID"));
        assertThat(text, containsString(" spare "));
    }

    @Test
    void scaleAndReloadChangeTheClusterAndSayWhatHappened() {
        CliRunner.Run scale = herd("scale", "hello", "+1");
        assertThat(scale.err(), scale.exit(), is(0));
        assertThat(scale.out(), containsString("scaled from 2 to 3"));
        assertThat(service.master().cluster("hello").info().online(), is(3));

        CliRunner.Run reload = herd("graceful-reload", "hello");
        assertThat(reload.exit(), is(0));
        assertThat(reload.out(), containsString("#2 pid"));
        assertThat(reload.out(), containsString("replaced"));
        assertThat(herd("reload", "hello").out(), org.hamcrest.Matchers.matchesPattern("(?s).*reload: replaced 3 workers in \\d+ ms\n.*"));
        CliRunner.Run restart = herd("restart", "hello");
        assertThat(restart.err(), restart.exit(), is(0));
        assertThat(restart.out(), containsString("restarted 3 workers"));
        assertThat(herd("scale", "hello", "-1").out(), containsString("scaled from 3 to 2"));
    }

    @Test
    void startDeleteAndSaveManageAppsAtRunTime() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        String jar = java.nio.file.Path.of("..", "examples", "hello", "target", "hello.jar").toString();
        CliRunner.Run started = herd("start", jar, "--name", "web", "-i", "1", "--port", Integer.toString(port));
        assertThat(started.err(), started.exit(), is(0));
        assertThat(started.out(), containsString("started web"));
        assertThat(herd("list").out(), containsString("web "));

        CliRunner.Run saved = herd("save");
        assertThat(saved.exit(), is(0));
        assertThat(java.nio.file.Files.readString(config.source()), containsString("app.web.listen = 127.0.0.1:" + port));

        assertThat(herd("stop", "web").exit(), is(0));
        assertThat(herd("start", "web").out(), containsString("started again web"));
        assertThat(herd("delete", "web").exit(), is(0));
        assertThat(herd("list").out(), org.hamcrest.Matchers.not(containsString("web ")));

        assertThat(herd("start", jar).exit(), is(2)); // no port
        assertThat(herd("delete", "web").exit(), is(1));
    }

    @Test
    void monitShowsEveryWorker() {
        CliRunner.Run monit = herd("monit", "--count", "1");
        assertThat(monit.exit(), is(0));
        assertThat(monit.out(), containsString("APP    INSTANCE  PID"));
        assertThat(monit.out(), containsString("online"));
        assertThat(herd("monit", "--count", "0").exit(), is(2));
        CliRunner.Run json = herd("monit", "--count", "1", "--json");
        try {
            JSONArray apps = new JSONParser().parse(json.out(), JSONArray.class);
            assertThat(((Map<?, ?>) apps.getFirst()).get("app"), is("hello"));
        } catch (Exception e) {
            throw new AssertionError("monit --json: " + json.out(), e);
        }
    }

    @Test
    void exitCodesTellUsageFailureAndUnreachableApart() {
        CliRunner.Run failed = herd("scale", "hello", "1000");
        assertThat(failed.exit(), is(1));
        assertThat(failed.err(), containsString("an instance count goes from 0 to 4"));
        assertThat(herd("stats", "nosuch").err(), containsString("no app 'nosuch'"));

        assertThat(herd("frobnicate").exit(), is(2));
        assertThat(herd("scale", "hello").exit(), is(2));
        assertThat(herd("scale", "hello", "many").exit(), is(2));
        assertThat(herd("reload", "hello", "--json").exit(), is(2));

        CliRunner.Run down = raw("list", "--url", "http://127.0.0.1:1/jolokia/", "--password-file", config.jolokia().passwordFile().toString());
        assertThat(down.exit(), is(3));
        assertThat(down.err(), containsString("cannot reach the herd service"));
        CliRunner.Run refused = raw("list", "--url", service.jolokiaUrl(), "--password-file", "/dev/null");
        assertThat(refused.exit(), is(3));
        assertThat(service.master().cluster("hello").info().instances(), is(2));
    }
}
