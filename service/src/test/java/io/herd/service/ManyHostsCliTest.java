package io.herd.service;

import io.herd.service.cli.CliRunner;
import io.herd.testing.Await;
import org.jolokia.json.JSONArray;
import org.jolokia.json.parser.JSONParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;

/**
 * {@code herd --hosts} and {@code --hosts-file} against two real herd services, each its own
 * process with one hello worker, over real Jolokia HTTP, and a third host where nothing listens.
 */
@Timeout(300)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ManyHostsCliTest {
    /** The operator's password both services are given, so that one --password-file serves --hosts. */
    private static final String SHARED_PASSWORD = "many-hosts-test-password";

    /** The services' homes, the password files and the hosts files. */
    private Path dir;

    private ServiceProcess first;
    private ServiceProcess second;
    /** host:port of each service's Jolokia endpoint, and of a port where nothing listens. */
    private String firstHost;
    private String secondHost;
    private String downHost;
    private Path passwordFile;

    @BeforeAll
    void startTwoServices(@TempDir Path dir) throws Exception {
        this.dir = dir;
        passwordFile = Files.writeString(dir.resolve("password"), SHARED_PASSWORD);
        first = start("first");
        second = start("second");
        firstHost = hostPort(first.jolokiaUrl());
        secondHost = hostPort(second.jolokiaUrl());
        first.awaitOutput("-> online", 1);
        second.awaitOutput("-> online", 1);
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            downHost = "127.0.0.1:" + probe.getLocalPort(); // closed at once: nothing listens there
        }
    }

    private ServiceProcess start(String name) throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        return ServiceProcess.start(home, ServiceProcess.helloConfig(home, 1, "herd.jolokia.password = " + SHARED_PASSWORD));
    }

    @AfterAll
    void stopThem() throws Exception {
        try (ServiceProcess a = first; ServiceProcess b = second) {
            // both closed, killing their workers, even when one close fails
        }
    }

    private static String hostPort(String jolokiaUrl) {
        URI url = URI.create(jolokiaUrl);
        return url.getHost() + ":" + url.getPort();
    }

    private CliRunner.Run herd(String hosts, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--hosts", hosts, "--password-file", passwordFile.toString()));
        return CliRunner.run(all.toArray(String[]::new));
    }

    /** The pid of the one worker a service runs, once a replaced one has exited. */
    private static long workerPid(ServiceProcess service) throws InterruptedException {
        return Await.until("the service's one worker", service::workers, workers -> workers.size() == 1, Duration.ofSeconds(30)).getFirst().pid();
    }

    @Test
    void listOverThreeHostsWithOneDownShowsEveryHostAndFails() throws Exception {
        CliRunner.Run list = herd(firstHost + "," + downHost + "," + secondHost, "list");
        assertThat("3: a host was unreachable\n" + list.err(), list.exit(), is(3));
        List<String> lines = list.out().lines().toList();
        assertThat(list.out(), lines.getFirst(), matchesPattern("HOST +APP +INSTANCES +ONLINE +SPARES.*"));
        assertThat(list.out(), lines.get(1), matchesPattern("\\Q" + firstHost + "\\E +hello +1 +1 +0 .*"));
        assertThat(list.out(), lines.get(2), allOf(containsString(downHost), containsString("cannot reach the herd service"),
                containsString("Connection refused")));
        assertThat(list.out(), lines.get(3), matchesPattern("\\Q" + secondHost + "\\E +hello +1 +1 +0 .*"));
        assertThat(list.err(), containsString("1 of 3 hosts failed: " + downHost));

        CliRunner.Run json = herd(firstHost + "," + downHost + "," + secondHost, "list", "--json");
        assertThat(json.exit(), is(3));
        JSONArray hosts = new JSONParser().parse(json.out(), JSONArray.class);
        assertThat(hosts.stream().map(host -> ((Map<?, ?>) host).get("host")).toList(), contains(firstHost, downHost, secondHost));
        assertThat(hosts.stream().map(host -> ((Map<?, ?>) host).get("ok")).toList(), contains(true, false, true));
        Map<?, ?> answered = (Map<?, ?>) hosts.getFirst();
        assertThat(((Map<?, ?>) ((List<?>) answered.get("result")).getFirst()).get("app"), is("hello"));
        assertThat(String.valueOf(((Map<?, ?>) hosts.get(1)).get("error")), containsString("Connection refused"));

        CliRunner.Run allUp = herd(firstHost + "," + secondHost, "stats", "hello");
        assertThat(allUp.err(), allUp.exit(), is(0));
        assertThat(allUp.out(), allOf(containsString(firstHost + ": hello: 1 instances, 1 online"),
                containsString(secondHost + ": hello: 1 instances, 1 online"), containsString("HOST ")));
    }

    @Test
    void aHostThatAcceptsAndNeverAnswersIsReportedAsTimedOutWithinTheHostTimeout() throws Exception {
        // connections complete in the kernel's backlog and nothing ever reads them: a hung service
        try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            String hungHost = "127.0.0.1:" + silent.getLocalPort();
            CliRunner.Run list = herd(firstHost + "," + hungHost, "list", "--host-timeout", "1s");
            assertThat(list.err(), list.exit(), is(3));
            assertThat(list.out(), matchesPattern("(?s).*\\Q" + hungHost + "\\E +[^\n]*timed out.*"));
            assertThat(list.out(), matchesPattern("(?s).*\\Q" + firstHost + "\\E +hello +1 +1 .*"));

            CliRunner.Run monit = herd(firstHost + "," + hungHost, "monit", "--count", "1", "--host-timeout", "1s");
            assertThat(monit.exit(), is(3));
            assertThat(monit.out(), allOf(matchesPattern("(?s).*HOST +APP +INSTANCE +PID.*"),
                    matchesPattern("(?s).*\\Q" + firstHost + "\\E +hello +0 +\\d+ +online.*"), containsString("timed out")));
        }
    }

    @Test
    void aHostsFileGivesEachHostItsOwnPasswordFileAndAWrongOneIsThatHostsFailure() throws Exception {
        Path wrong = Files.writeString(dir.resolve("wrong-password"), "not-the-password");
        Path hostsFile = Files.writeString(dir.resolve("hosts"), """
                # the fleet
                http://%s/jolokia/ password

                %s wrong-password
                """.formatted(firstHost, secondHost));
        CliRunner.Run list = CliRunner.run("list", "--hosts-file", hostsFile.toString());
        assertThat(list.err(), list.exit(), is(3));
        assertThat(list.out(), matchesPattern("(?s).*\\Q" + firstHost + "\\E +hello +1 +1 .*"));
        assertThat(list.out(), matchesPattern("(?s).*\\Q" + secondHost + "\\E +the herd service at http://\\Q" + secondHost
                + "\\E/jolokia/ refused the user name or password\n.*"));
        assertThat(wrong.toString(), list.err(), containsString("1 of 2 hosts failed: " + secondHost));

        // https to a plain-HTTP endpoint: the handshake fails, and the row says it is TLS
        CliRunner.Run tls = herd("https://" + firstHost + "/jolokia/," + secondHost, "list");
        assertThat(tls.err(), tls.exit(), is(3));
        assertThat(tls.out(), matchesPattern("(?s).*\\Q" + firstHost + "\\E +cannot reach the herd service at https://[^\n]*TLS failed: .*"));
    }

    @Test
    void reloadGoesHostByHostEachBackAtFullCapacityBeforeTheNext() throws Exception {
        long firstBefore = workerPid(first), secondBefore = workerPid(second);
        CliRunner.Run reload = herd(firstHost + "," + secondHost, "reload", "hello");
        assertThat(reload.err(), reload.exit(), is(0));
        String out = reload.out();
        long firstAfter = workerPid(first), secondAfter = workerPid(second);
        assertThat("the first host's worker was replaced", firstAfter, not(is(firstBefore)));
        assertThat("the second host's worker was replaced", secondAfter, not(is(secondBefore)));
        // the order the CLI went in: the first host reloaded and found at full capacity before the second was touched
        int firstReloaded = out.indexOf("pid " + firstBefore + " -> pid " + firstAfter);
        int firstAtFullCapacity = out.indexOf(firstHost + ": hello back at full capacity, 1 of 1 online");
        int secondStarted = out.indexOf("== " + secondHost + ": reload hello");
        int secondReloaded = out.indexOf("pid " + secondBefore + " -> pid " + secondAfter);
        assertThat(out, firstReloaded, greaterThan(-1));
        assertThat(out, firstAtFullCapacity, allOf(greaterThan(firstReloaded), lessThan(secondStarted)));
        assertThat(out, secondReloaded, greaterThan(secondStarted));
        assertThat(out, containsString(secondHost + ": hello back at full capacity, 1 of 1 online"));
        // and as the machine saw it: the first host's new worker was started before the second's
        assertThat(ProcessHandle.of(firstAfter).orElseThrow().info().startInstant().orElseThrow(),
                lessThan(ProcessHandle.of(secondAfter).orElseThrow().info().startInstant().orElseThrow()));
    }

    @Test
    void reloadStopsAtTheFirstFailingHostAndLeavesTheRestUntouched() throws Exception {
        long firstBefore = workerPid(first), secondBefore = workerPid(second);
        CliRunner.Run reload = herd(firstHost + "," + downHost + "," + secondHost, "reload", "hello");
        assertThat(reload.out(), reload.exit(), is(3));
        assertThat("the first host was reloaded", workerPid(first), not(is(firstBefore)));
        assertThat("the host after the down one was not touched", workerPid(second), is(secondBefore));
        assertThat(reload.err(), allOf(containsString(downHost + ": cannot reach the herd service"),
                containsString("reload stopped at " + downHost + ", which failed; done: " + firstHost + "; not touched: " + secondHost)));

        CliRunner.Run unknownApp = herd(firstHost + "," + secondHost, "reload", "nosuch");
        assertThat(unknownApp.exit(), is(1));
        assertThat(unknownApp.err(), allOf(containsString(firstHost + ": no app 'nosuch' in this service"),
                containsString("reload stopped at " + firstHost + ", which failed; done: none; not touched: " + secondHost)));
        assertThat(workerPid(second), is(secondBefore));
    }
}
