package io.herd.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HerdConfigTest {
    /** The least an app needs. */
    private static final String APP = "app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\n";

    @TempDir
    Path home;

    private Path write(String text) throws IOException {
        if (!Files.exists(home.resolve("app.jar"))) Files.createFile(home.resolve("app.jar"));
        return Files.writeString(home.resolve("herd.properties"), text);
    }

    private String problemsWith(String text) throws IOException {
        Path file = write(text);
        return assertThrows(ConfigException.class, () -> HerdConfig.load(file, home)).getMessage();
    }

    @Test
    void readsAnAppBlockWithItsDefaults() throws Exception {
        HerdConfig config = HerdConfig.load(write("""
                app.web.listen = 127.0.0.1:8080, [::1]:8080
                app.web.instances = 3
                app.web.jar = app.jar
                app.web.jvm.options = -Xmx64m  -XX:+UseSerialGC
                app.web.env.GREETING = hi
                """), home);
        AppConfig web = config.app("web");
        assertThat(web.listen().size(), is(2));
        assertThat(web.instances(), is(3));
        assertThat(web.jar(), is(home.resolve("app.jar")));
        assertThat(web.jvmOptions(), contains("-Xmx64m", "-XX:+UseSerialGC"));
        assertThat(web.env().get("GREETING"), is("hi"));
        assertThat(web.balance(), is(Balance.ROUND_ROBIN));
        assertThat(web.queueTimeout(), is(Duration.ofSeconds(10)));
        assertThat("a stable worker is restarted at once; a crash loop backs off from 100 ms",
                web.restart(), is(new AppConfig.Restart(16, Duration.ofSeconds(1), Duration.ZERO, Duration.ofMillis(100), Duration.ofSeconds(15))));
        assertThat(config.stopTimeout(), is(Duration.ofSeconds(10)));
    }

    @Test
    void logsAreTextUnlessTheFileAsksForJson() throws Exception {
        assertThat(HerdConfig.load(write(APP), home).logFormat(), is(LogFormat.TEXT));
        assertThat(HerdConfig.load(write("herd.log.format = json\n" + APP), home).logFormat(), is(LogFormat.JSON));
        assertThat(problemsWith("herd.log.format = JSON\n" + APP),
                containsString(home.resolve("herd.properties") + ": herd.log.format: 'JSON' is not text or json"));
    }

    @Test
    void readsProxyDispatchAndItsSettings() throws Exception {
        HerdConfig config = HerdConfig.load(write("""
                herd.proxy.threads = 2
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.web.dispatch = proxy
                app.web.proxy.protocol = v2
                app.web.proxy.idle.timeout = 30s
                app.web.proxy.max.connections = 500
                app.web.proxy.http = true
                """), home);
        AppConfig web = config.app("web");
        assertThat(web.proxied(), is(true));
        assertThat(web.proxy(), is(new AppConfig.Proxy(AppConfig.Proxy.Header.V2, Duration.ofSeconds(30), 500, true)));
        assertThat(config.proxyThreads(), is(2));
        assertThat("save writes back what load reads", HerdConfig.keysOf(web).get("app.web.proxy.protocol"), is("v2"));
        assertThat("save writes back what load reads", HerdConfig.keysOf(web).get("app.web.proxy.max.connections"), is("500"));
        assertThat("save writes back what load reads", HerdConfig.keysOf(web).get("app.web.proxy.http"), is("true"));
    }

    @Test
    void proxyMaxConnectionsDefaultsToTheBoundTheShippedDirectMemoryLimitAllows() throws Exception {
        HerdConfig config = HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.dispatch = proxy\n"), home);
        assertThat(config.app("web").proxy().maxConnections(), is(1024));
        assertThat("proxy.http is off unless asked for", config.app("web").proxy().http(), is(false));
    }

    @Test
    void badProxySettingsAreNamedWithTheirKeys() throws Exception {
        String problems = problemsWith("""
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.web.dispatch = relay
                app.api.listen = 127.0.0.1:8081
                app.api.jar = app.jar
                app.api.proxy.protocol = v2
                app.db.listen = 127.0.0.1:8082
                app.db.jar = app.jar
                app.db.dispatch = proxy
                app.db.proxy.protocol = v3
                app.db.proxy.idle.timeout = 0s
                app.db.proxy.max.connections = 0
                app.api.proxy.max.connections = 10
                app.api.proxy.http = true
                app.db.proxy.http = yes
                """);
        assertThat(problems, allOf(containsString("app.web.dispatch: 'relay' is not handoff, shared or proxy"),
                containsString("app.api.proxy.protocol: only means something with app.api.dispatch = proxy"),
                containsString("app.api.proxy.max.connections: only means something with app.api.dispatch = proxy"),
                containsString("app.db.proxy.protocol: 'v3' is not none, v1 or v2"),
                containsString("app.db.proxy.idle.timeout: '0s' is not a duration from 1ms to 24h"),
                containsString("app.db.proxy.max.connections: '0' is not a whole number from 1 to 1000000"),
                containsString("app.api.proxy.http: only means something with app.api.dispatch = proxy"),
                containsString("app.db.proxy.http: 'yes' is neither true nor false")));
    }

    @Test
    void readsSharedDispatch() throws Exception {
        AppConfig web = HerdConfig.load(write("""
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.web.dispatch = shared
                app.web.balance = round-robin
                """), home).app("web");
        assertThat(web.shared(), is(true));
        assertThat(web.proxied(), is(false));
        assertThat("save writes back what load reads", HerdConfig.keysOf(web).get("app.web.dispatch"), is("shared"));
    }

    /** The master sees no connection in shared dispatch: what would need it to place or hold one is refused, with key and file. */
    @Test
    void sharedDispatchRefusesLeastConnectionsAndTheQueueNamingKeyAndFile() throws Exception {
        Path file = write("""
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.web.dispatch = shared
                app.web.balance = least-connections
                app.web.queue.size = 10
                app.web.queue.timeout = 1s
                app.web.proxy.protocol = v1
                """);
        String problems = assertThrows(ConfigException.class, () -> HerdConfig.load(file, home)).getMessage();
        assertThat(problems, allOf(
                containsString(file + ": app.web.balance: least-connections is not with app.web.dispatch = shared, where the master sees "
                        + "no connection (the kernel gives each to an idle worker)"),
                containsString(file + ": app.web.queue.size: not with app.web.dispatch = shared, where the master sees no connection "
                        + "(connections wait in the kernel's listen backlog instead)"),
                containsString(file + ": app.web.queue.timeout: not with app.web.dispatch = shared"),
                containsString(file + ": app.web.proxy.protocol: only means something with app.web.dispatch = proxy")));
    }

    @Test
    void aHealthCheckIsOffUnlessAUrlIsSetAndHasItsDefaultsOtherwise() throws Exception {
        assertThat(HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\n"), home).app("web").health(), is((Object) null));
        assertThat(HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.health.url =\n"), home)
                .app("web").health(), is((Object) null));
        AppConfig.Health health = HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.health.url = /healthz\n"),
                home).app("web").health();
        assertThat(health, is(new AppConfig.Health(HealthUrl.parse("/healthz"), Duration.ofSeconds(10), Duration.ofSeconds(2), 3)));
    }

    @Test
    void badHealthCheckSettingsAreNamedWithTheirKeysAndFile() throws Exception {
        Path file = write("""
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.web.health.url = https://example.com/healthz
                app.api.listen = 127.0.0.1:8081
                app.api.jar = app.jar
                app.api.health.url = /healthz
                app.api.health.interval = 2s
                app.api.health.timeout = 2s
                app.api.health.failures = 0
                app.db.listen = 127.0.0.1:8082
                app.db.jar = app.jar
                app.db.health.interval = 5s
                app.db.health.failures = 2
                app.ui.listen = 127.0.0.1:8083
                app.ui.jar = app.jar
                app.ui.health.url = /health check
                app.ui.health.interval = 10ms
                """);
        String problems = assertThrows(ConfigException.class, () -> HerdConfig.load(file, home)).getMessage();
        assertThat(problems, allOf(containsString(file + ": app.web.health.url: 'https://example.com/healthz': https is not supported"),
                containsString(file + ": app.api.health.timeout: must be shorter than app.api.health.interval (2s)"),
                containsString(file + ": app.api.health.failures: '0' is not a whole number from 1 to 100"),
                containsString(file + ": app.db.health.interval: only means something with app.db.health.url set"),
                containsString(file + ": app.db.health.failures: only means something with app.db.health.url set"),
                containsString(file + ": app.ui.health.url: '/health check' holds a space"),
                containsString(file + ": app.ui.health.interval: '10ms' is not a duration from 100ms to 1h")));
    }

    @Test
    void pingTimeoutIsReadAndChecked() throws Exception {
        HerdConfig config = HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.ping.timeout = 3s\n"), home);
        assertThat(config.app("web").pingTimeout(), is(Duration.ofSeconds(3)));
        assertThat("save writes back what load reads", HerdConfig.keysOf(config.app("web")).get("app.web.ping.timeout"), is("3s"));
        assertThat(problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.ping.timeout = 500ms\n"),
                containsString("app.web.ping.timeout: '500ms' is not a duration from 1s to 1h"));
        String notADuration = problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.ping.timeout = soon\n");
        assertThat(notADuration, containsString("app.web.ping.timeout: 'soon' is not a duration"));
        assertThat("one problem, said once", notADuration.lines().count(), is(1L));
    }

    @Test
    void zeroInstancesMeansOnePerCore() throws Exception {
        HerdConfig config = HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.instances = 0\napp.web.jar = app.jar\n"), home);
        assertThat(config.app("web").instances(), is(Runtime.getRuntime().availableProcessors()));
    }

    @Test
    void anUnknownKeyIsNamedWithTheFile() throws Exception {
        String problems = problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.instancez = 2\n");
        assertThat(problems, allOf(containsString("herd.properties"), containsString("app.web.instancez: unknown key")));
    }

    @Test
    void aBadPortIsRefused() throws Exception {
        assertThat(problemsWith("app.web.listen = 127.0.0.1:70000\napp.web.jar = app.jar\n"),
                containsString("app.web.listen: '70000' is not a whole number from 0 to 65535"));
        assertThat(problemsWith("app.web.listen = localhost\napp.web.jar = app.jar\n"),
                containsString("app.web.listen: 'localhost' is not host:port"));
    }

    @Test
    void aMissingJarIsRefused() throws Exception {
        assertThat(problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = nowhere.jar\n"),
                containsString("app.web.jar: no such file: " + home.resolve("nowhere.jar")));
    }

    @Test
    void negativeInstancesAreRefused() throws Exception {
        assertThat(problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.instances = -1\n"),
                containsString("app.web.instances: '-1' is not a whole number from 0 to " + Settings.MOST_INSTANCES));
    }

    @Test
    void everyProblemIsReportedAtOnce() throws Exception {
        String problems = problemsWith("""
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.web.balance = random
                app.web.queue.timeout = soon
                app.api.jar = app.jar
                """);
        assertThat(problems, allOf(containsString("app.web.balance"), containsString("app.web.queue.timeout"),
                containsString("app.api.listen: missing")));
    }

    @Test
    void twoAppsCannotShareAnAddress() throws Exception {
        assertThat(problemsWith("""
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.api.listen = 127.0.0.1:8080
                app.api.jar = app.jar
                """), containsString("127.0.0.1:8080 is already app"));
    }

    @Test
    void balancerFacingKeysAreOffByDefaultAndReadWhenSet() throws Exception {
        HerdConfig defaults = HerdConfig.load(write(APP), home);
        assertThat(defaults.drainDelay(), is(Duration.ZERO));
        assertThat(defaults.healthListen(), is(nullValue()));
        assertThat(defaults.app("web").agentListen(), is(nullValue()));

        HerdConfig set = HerdConfig.load(write("herd.drain.delay = 3s\nherd.health.listen = 127.0.0.1:8079\n" + APP
                + "app.web.agent.listen = :8081\n"), home);
        assertThat(set.drainDelay(), is(Duration.ofSeconds(3)));
        assertThat(set.healthListen(), is(new InetSocketAddress("127.0.0.1", 8079)));
        assertThat("an empty host is every interface", set.app("web").agentListen(), is(new InetSocketAddress("0.0.0.0", 8081)));
    }

    @Test
    void badBalancerFacingValuesAreNamedWithTheirKeyAndFile() throws Exception {
        String file = home.resolve("herd.properties") + ": ";
        assertThat(problemsWith(APP + "app.web.agent.listen = 127.0.0.1\n"), containsString(file + "app.web.agent.listen: '127.0.0.1' is not host:port"));
        assertThat(problemsWith(APP + "app.web.agent.listen = 127.0.0.1:70000\n"), containsString(file + "app.web.agent.listen: '70000'"));
        assertThat(problemsWith(APP + "app.web.agent.listen = no-such-host.invalid:8081\n"),
                containsString(file + "app.web.agent.listen: unknown host 'no-such-host.invalid'"));
        assertThat(problemsWith(APP + "app.web.agent.listen = 127.0.0.1:8081, 127.0.0.1:8082\n"),
                containsString(file + "app.web.agent.listen: '127.0.0.1:8081, 127.0.0.1:8082' is more than one address"));
        assertThat(problemsWith("herd.health.listen = \n" + APP), containsString(file + "herd.health.listen: is empty"));
        assertThat(problemsWith("herd.drain.delay = 2h\n" + APP), containsString(file + "herd.drain.delay: '2h' is not a duration from 0ms to 1h"));
        assertThat(problemsWith("herd.drain.delay = -1s\n" + APP), containsString(file + "herd.drain.delay: '-1s' is not a duration"));
    }

    @Test
    void anAgentOrTheHealthEndpointCannotShareAnAddressWithAnAppOrEachOther() throws Exception {
        String file = home.resolve("herd.properties") + ": ";
        assertThat("an agent on its own app's port", problemsWith(APP + "app.web.agent.listen = 127.0.0.1:8080\n"),
                containsString(file + "app.web.agent.listen: 127.0.0.1:8080 is already app 'web''s"));
        assertThat("two apps' agents on one port", problemsWith(APP + """
                app.web.agent.listen = 127.0.0.1:8081
                app.api.listen = 127.0.0.1:8090
                app.api.jar = app.jar
                app.api.agent.listen = 127.0.0.1:8081
                """), containsString(file + "app.web.agent.listen: 127.0.0.1:8081 is already app 'api''s agent check")); // apps are read in name order
        assertThat("the health endpoint on an app's port", problemsWith("herd.health.listen = 127.0.0.1:8080\n" + APP),
                containsString(file + "app.web.listen: 127.0.0.1:8080 is already herd.health.listen's"));
        assertThat("an agent on the health endpoint's port", problemsWith("herd.health.listen = 127.0.0.1:8079\n" + APP
                + "app.web.agent.listen = 127.0.0.1:8079\n"), containsString(file + "app.web.agent.listen: 127.0.0.1:8079 is already herd.health.listen's"));
    }

    @Test
    void herdsOwnVariablesAreNotTheAppsToSet() throws Exception {
        assertThat(problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.env.HERD_IPC = /tmp/x\n"),
                containsString("app.web.env.HERD_IPC"));
    }

    @Test
    void theJmxConnectorTakesJolokiasUsersAndNoFilesOfItsOwn() throws Exception {
        HerdConfig.Jmx jmx = HerdConfig.load(write("herd.jmx.port = 9010\napp.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\n"), home).jmx();
        assertThat(jmx, is(new HerdConfig.Jmx("127.0.0.1", 9010, null)));
        String retired = problemsWith("""
                herd.jmx.port = 9010
                herd.jmx.password.file = conf/jmxremote.password
                herd.jmx.access.file = conf/jmxremote.access
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                """);
        assertThat(retired, containsString("herd.jmx.password.file: no longer a setting: the JMX connector's users are Jolokia's"));
        assertThat(retired, containsString("herd.jmx.access.file: no longer a setting: over JMX as over Jolokia, herd may do everything"));
    }

    @Test
    void jmxOverTlsNeedsAKeystoreAndOneWayToItsPassword() throws Exception {
        String block = "herd.jmx.port = 9010\napp.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\n";
        Files.writeString(home.resolve("server.p12"), "a keystore");
        Files.writeString(home.resolve("keystore.password"), "its password");
        HerdConfig.Jmx jmx = HerdConfig.load(write(block + "herd.jmx.ssl = true\nherd.jmx.ssl.keystore = server.p12\n"
                + "herd.jmx.ssl.keystore.password.file = keystore.password\n"), home).jmx();
        assertThat(jmx.ssl(), is(new HerdConfig.Tls("herd.jmx.ssl", home.resolve("server.p12"), null, home.resolve("keystore.password"))));
        assertThat(problemsWith(block + "herd.jmx.ssl = true\n"), allOf(
                containsString("herd.jmx.ssl.keystore: missing: herd.jmx.ssl = true needs the server's key"),
                containsString("herd.jmx.ssl.keystore.password: set either it or herd.jmx.ssl.keystore.password.file")));
        assertThat(problemsWith(block + "herd.jmx.ssl = true\nherd.jmx.ssl.keystore = nowhere.p12\nherd.jmx.ssl.keystore.password = secret\n"),
                containsString("herd.jmx.ssl.keystore: no such file: " + home.resolve("nowhere.p12")));
        assertThat(problemsWith(block + "herd.jmx.ssl = true\nherd.jmx.ssl.keystore = server.p12\nherd.jmx.ssl.keystore.password = secret\n"
                        + "herd.jmx.ssl.keystore.password.file = keystore.password\n"),
                containsString("herd.jmx.ssl.keystore.password: set either it or herd.jmx.ssl.keystore.password.file (not both)"));
        assertThat(problemsWith(block + "herd.jmx.ssl = true\nherd.jmx.ssl.keystore = server.p12\nherd.jmx.ssl.keystore.password.file = none\n"),
                containsString("herd.jmx.ssl.keystore.password.file: no such file: " + home.resolve("none")));
        assertThat(problemsWith(block + "herd.jmx.ssl = yes\n"), containsString("herd.jmx.ssl: 'yes' is neither true nor false"));
    }

    @Test
    void aKeystoreWithoutTlsOnIsAMistakeNotASilentPlainConnector() throws Exception {
        assertThat(problemsWith("herd.jmx.port = 9010\nherd.jmx.ssl.keystore = server.p12\napp.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\n"),
                containsString("herd.jmx.ssl.keystore: is set but herd.jmx.ssl is not true: the connector would not use TLS"));
    }

    @Test
    void aClasspathNeedsAMainClass() throws Exception {
        Map<String, String> values = new HashMap<>(Map.of("app.web.listen", "127.0.0.1:8080", "app.web.classpath", home.toString()));
        ConfigException missingMain = assertThrows(ConfigException.class,
                () -> HerdConfig.parse(values, home.resolve("x.properties"), home));
        assertThat(missingMain.getMessage(), containsString("app.web.main: missing"));
    }

    @Test
    void noValueMayHoldAControlCharacter() throws Exception {
        // what a startJar main class with a line break would otherwise have save write as a key of its own
        Map<String, String> values = Map.of("app.web.listen", "127.0.0.1:8080", "app.web.jar", write("").resolveSibling("app.jar").toString(),
                "app.web.main", "a.Main\nherd.jolokia.password = taken-over");
        String problems = assertThrows(ConfigException.class, () -> HerdConfig.parse(values, home.resolve("x.properties"), home)).getMessage();
        assertThat(problems, containsString("app.web.main: holds a control character"));
        assertThat(problems, not(containsString("\n")));
    }

    @Test
    void anAppNameIsLowerCaseLettersDigitsAndDashes() throws Exception {
        for (String bad : new String[] {"Web", "web_app", "-web"}) {
            assertThat(bad, problemsWith("app." + bad + ".listen = 127.0.0.1:8080\napp." + bad + ".jar = app.jar\n"),
                    containsString("must be " + HerdConfig.APP_NAME_RULE));
        }
        assertThat(HerdConfig.isAppName("web-2"), is(true));
    }

    @Test
    void wordsMayBeQuotedAndAnUnclosedQuoteIsNamed() throws Exception {
        HerdConfig config = HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\n"
                + "app.web.args = --greeting \"hello world\"\napp.web.jvm.options = -Dx=\"a b\" -Xmx64m\n"), home);
        assertThat(config.app("web").args(), contains("--greeting", "hello world"));
        assertThat(config.app("web").jvmOptions(), contains("-Dx=a b", "-Xmx64m"));
        assertThat(problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.args = \"open\n"),
                containsString("app.web.args: a double quote is not closed"));
    }

    @Test
    void retiredKeysSayWhy() throws Exception {
        assertThat(problemsWith("herd.jolokia.user = admin\napp.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\n"),
                containsString("herd.jolokia.user: no longer a setting: the users are fixed"));
    }

    @Test
    void reloadSurgeIsACountOrAPercentageOfTheInstancesRoundedUp() throws Exception {
        assertThat(HerdConfig.load(write(APP), home).app("web").reloadSurge(), is(new ReloadSurge(1, false)));
        AppConfig web = HerdConfig.load(write(APP + "app.web.reload.surge = 25%\n"), home).app("web");
        assertThat(web.reloadSurge(), is(new ReloadSurge(25, true)));
        assertThat("save writes back what load reads", HerdConfig.keysOf(web).get("app.web.reload.surge"), is("25%"));
        assertThat("25% of 4", web.reloadSurge().workers(4), is(1));
        assertThat("25% of 5, rounded up", web.reloadSurge().workers(5), is(2));
        assertThat("25% of 1, at least 1", web.reloadSurge().workers(1), is(1));
        assertThat("a count whatever the size", new ReloadSurge(3, false).workers(10), is(3));
        for (String bad : List.of("0", "0%", "101%", "257", "-1", "two", "%", "2.5", "1%%")) {
            assertThat(bad, problemsWith(APP + "app.web.reload.surge = " + bad + "\n"), containsString("herd.properties: app.web.reload.surge: '"
                    + bad + "' is not a count from 1 to 256 or a percentage from 1% to 100%"));
        }
    }

    @Test
    void reloadParallelismIsReadAsReloadSurgeWithOneWarningButNotBesideIt() throws Exception {
        HerdConfig old = HerdConfig.load(write(APP + "app.web.reload.parallelism = 3\n"), home);
        assertThat(old.app("web").reloadSurge(), is(new ReloadSurge(3, false)));
        assertThat(old.warnings(), contains(home.resolve("herd.properties")
                + ": app.web.reload.parallelism is now app.web.reload.surge: read as such (herd save writes the new name)"));
        assertThat(HerdConfig.load(write(APP + "app.web.reload.surge = 3\n"), home).warnings(), is(List.of()));
        assertThat(problemsWith(APP + "app.web.reload.parallelism = 3\napp.web.reload.surge = 2\n"),
                containsString("app.web.reload.parallelism: the former name of app.web.reload.surge, which is set too: remove app.web.reload.parallelism"));
        assertThat("its value is checked as reload.surge's", problemsWith(APP + "app.web.reload.parallelism = 0\n"),
                containsString("app.web.reload.surge: '0' is not a count"));
    }

    @Test
    void quotedWordsAreWrittenSoTheyLoadTheSame() throws Exception {
        HerdConfig config = HerdConfig.load(write(APP + "app.web.args = \"a b\" c\napp.web.jvm.options = \"-Dx=a b\"\n"), home);
        Map<String, String> written = HerdConfig.keysOf(config.app("web"));
        assertThat(written.get("app.web.args"), is("\"a b\" c"));
        Properties properties = new Properties();
        properties.load(new StringReader("app.web.args = " + ConfigFile.escapeValue(written.get("app.web.args"))));
        assertThat(Words.split(properties.getProperty("app.web.args")), contains("a b", "c"));
        assertThat(config.app("web").jvmOptions(), contains("-Dx=a b"));
    }

    @Test
    void aDurationOfZeroIsRefusedWhereItWouldMeanNothing() throws Exception {
        for (String key : List.of("ready.timeout", "kill.timeout", "queue.timeout", "memory.check.interval")) {
            assertThat(key, problemsWith(APP + "app.web." + key + " = 0\n"),
                    containsString("herd.properties: app.web." + key + ": '0' is not a duration from "));
        }
        assertThat(problemsWith(APP + "herd.stop.timeout = 0s\n"), containsString("herd.stop.timeout: '0s' is not a duration from 1ms to 1h"));
    }

    @Test
    void aDurationOfZeroIsKeptWhereItMeansOff() throws Exception {
        AppConfig web = HerdConfig.load(write(APP + "app.web.min.uptime = 0\napp.web.restart.delay = 0\napp.web.max.memory = 0\n"), home).app("web");
        assertThat(web.restart(), is(new AppConfig.Restart(16, Duration.ZERO, Duration.ZERO, Duration.ofMillis(100), Duration.ofSeconds(15))));
        assertThat("0 is no limit", web.maxMemoryBytes(), is(0L));
    }

    @Test
    void aRestartBackoffOfZeroIsRefusedForNothingWouldGrowFromIt() throws Exception {
        assertThat(problemsWith(APP + "app.web.restart.backoff = 0\n"),
                containsString("herd.properties: app.web.restart.backoff: '0' is not a duration from 1ms to 1h"));
    }

    @Test
    void aRestartDelayMaxShorterThanTheDelayOrTheBackoffIsRefusedNamingBoth() throws Exception {
        Path file = home.resolve("herd.properties");
        assertThat(problemsWith(APP + "app.web.restart.delay.max = 50ms\n"),
                containsString(file + ": app.web.restart.delay.max: is shorter than app.web.restart.backoff"));
        assertThat(problemsWith(APP + "app.web.restart.delay = 2s\napp.web.restart.backoff = 3s\napp.web.restart.delay.max = 1s\n"), allOf(
                containsString(file + ": app.web.restart.delay.max: is shorter than app.web.restart.delay"),
                containsString(file + ": app.web.restart.delay.max: is shorter than app.web.restart.backoff")));
        AppConfig web = HerdConfig.load(write(APP + "app.web.restart.backoff = 20ms\napp.web.restart.delay.max = 20ms\n"), home).app("web");
        assertThat("as long as both is enough", web.restart().maxDelay(), is(Duration.ofMillis(20)));
    }

    @Test
    void aVeryLongNumberIsABadValueNamedWithItsKeyAndFile() throws Exception {
        String problems = problemsWith(APP + """
                app.web.instances = 99999999999999999999
                app.web.queue.timeout = 99999999999999999999h
                app.web.ready.timeout = 9999999999999h
                app.web.max.memory = 99999999999999999999G
                """);
        Path file = home.resolve("herd.properties");
        assertThat(problems, allOf(
                containsString(file + ": app.web.instances: '99999999999999999999' is not a whole number from 0 to 256"),
                containsString(file + ": app.web.queue.timeout: '99999999999999999999h' is not a duration from 1ms to 1h"),
                containsString(file + ": app.web.ready.timeout: '9999999999999h' is not a duration from 1ms to 1h"),
                containsString(file + ": app.web.max.memory: '99999999999999999999G' is not a size from 0 to 1024G")));
    }

    @Test
    void aSizeThatWouldOverflowIsRefusedNotTurnedIntoNoLimit() throws Exception {
        // 2^34 G is 2^64 bytes: shifted, it wrapped to 0, which means no limit at all
        assertThat(problemsWith(APP + "app.web.max.memory = 17179869184G\n"),
                containsString("app.web.max.memory: '17179869184G' is not a size from 0 to 1024G"));
        assertThat(problemsWith(APP + "app.web.max.memory = 8589934592G\n"), containsString("app.web.max.memory: '8589934592G' is not a size"));
        assertThat(HerdConfig.load(write(APP + "app.web.max.memory = 2g\n"), home).app("web").maxMemoryBytes(), is(2L << 30));
    }

    @Test
    void aHostMustResolve() throws Exception {
        String problems = problemsWith(APP + "herd.jolokia.host = no-such-host.invalid\nherd.jmx.port = 9010\nherd.jmx.host = also not a host\n");
        assertThat(problems, allOf(
                containsString("herd.properties: herd.jolokia.host: 'no-such-host.invalid' is not a host name or address that resolves"),
                containsString("herd.properties: herd.jmx.host: 'also not a host' is not a host name or address that resolves")));
        assertThat(problemsWith(APP + "herd.jolokia.host =\n"), containsString("herd.jolokia.host: is empty"));
        assertThat("the loopback defaults", HerdConfig.load(write(APP + "herd.jmx.port = 9010\n"), home).jmx().host(), is("127.0.0.1"));
    }

    @Test
    void aMainClassIsAJavaBinaryClassName() throws Exception {
        for (String bad : List.of("-jar evil.jar", "com..Main", "com.example.", "int.Main", "com.class.Main", "1Main", "com/example/Main")) {
            assertThat(bad, problemsWith(APP + "app.web.main = " + bad + "\n"),
                    containsString("herd.properties: app.web.main: '" + bad + "' is not a Java class name"));
        }
        assertThat(HerdConfig.load(write(APP + "app.web.main = com.example.Outer$Inner\n"), home).app("web").mainClass(),
                is("com.example.Outer$Inner"));
        assertThat(HerdConfig.load(write(APP + "app.web.main = com.exämple.$Main_2\n"), home).app("web").mainClass(), is("com.exämple.$Main_2"));
    }

    @Test
    void aMalformedMemoryCheckIntervalIsReportedOnce() throws Exception {
        String problems = problemsWith(APP + "app.web.memory.check.interval = often\n");
        assertThat(problems, containsString("app.web.memory.check.interval: 'often' is not a duration"));
        assertThat(problems.lines().count(), is(1L));
    }

    @Test
    void everyProblemNamesItsKeyAndTheFile() throws Exception {
        String problems = problemsWith("""
                herd.stop.timeout = 99999999999999999999s
                herd.jolokia.port = 99999
                herd.jolokia.ssl = maybe
                herd.proxy.threads = 0
                app.web.listen = 127.0.0.1:8080
                app.web.jar = app.jar
                app.web.balance = random
                app.web.queue.size = -1
                app.web.ping.timeout = 1d
                app.web.max.restarts = many
                app.web.dispatch = proxy
                app.web.proxy.protocol = v3
                """);
        Path file = home.resolve("herd.properties");
        for (String line : problems.lines().toList()) {
            assertThat(line, allOf(containsString(file + ": "), not(containsString("Exception"))));
        }
        assertThat(problems, allOf(containsString(file + ": herd.stop.timeout: '99999999999999999999s'"), containsString(file + ": herd.jolokia.port: '99999'"),
                containsString(file + ": herd.jolokia.ssl: 'maybe' is neither true nor false"),
                containsString(file + ": herd.proxy.threads: '0' is not a whole number from 1 to 64"),
                containsString(file + ": app.web.balance: 'random' is not round-robin or least-connections"),
                containsString(file + ": app.web.queue.size: '-1'"), containsString(file + ": app.web.ping.timeout: '1d'"),
                containsString(file + ": app.web.max.restarts: 'many'"), containsString(file + ": app.web.proxy.protocol: 'v3' is not none, v1 or v2")));
        assertThat("one line a problem", problems.lines().count(), is(9L));
    }

    @Test
    void theUnknownKeyMessageListsTheDeclaredKeys() throws Exception {
        String problems = problemsWith(APP + "herd.jolokia.prot = 1\n");
        for (Setting<?, ?> setting : Settings.ALL) assertThat(problems, containsString(setting.key()));
    }
}
