package io.herd.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HerdConfigTest {
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
        assertThat(config.stopTimeout(), is(Duration.ofSeconds(10)));
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
                """), home);
        AppConfig web = config.app("web");
        assertThat(web.proxied(), is(true));
        assertThat(web.proxy(), is(new AppConfig.Proxy(AppConfig.Proxy.Header.V2, Duration.ofSeconds(30), 500)));
        assertThat(config.proxyThreads(), is(2));
        assertThat("save writes back what load reads", HerdConfig.keysOf(web).get("app.web.proxy.protocol"), is("v2"));
        assertThat("save writes back what load reads", HerdConfig.keysOf(web).get("app.web.proxy.max.connections"), is("500"));
    }

    @Test
    void proxyMaxConnectionsDefaultsToTheBoundTheShippedDirectMemoryLimitAllows() throws Exception {
        HerdConfig config = HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.dispatch = proxy\n"), home);
        assertThat(config.app("web").proxy().maxConnections(), is(1024));
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
                """);
        assertThat(problems, allOf(containsString("app.web.dispatch: 'relay' is not handoff or proxy"),
                containsString("app.api.proxy.protocol: only means something with app.api.dispatch = proxy"),
                containsString("app.api.proxy.max.connections: only means something with app.api.dispatch = proxy"),
                containsString("app.db.proxy.protocol: 'v3' is not none, v1 or v2"),
                containsString("app.db.proxy.idle.timeout: '0s' is not a duration from 1ms to 24h"),
                containsString("app.db.proxy.max.connections: '0' is not a whole number from 1 to 1000000")));
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
    void aMainClassIsAJavaClassName() throws Exception {
        assertThat(problemsWith("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.main = -jar evil.jar\n"),
                containsString("app.web.main: '-jar evil.jar' is not a Java class name"));
        HerdConfig ok = HerdConfig.load(write("app.web.listen = 127.0.0.1:8080\napp.web.jar = app.jar\napp.web.main = com.exämple.$Main_2\n"), home);
        assertThat(ok.app("web").mainClass(), is("com.exämple.$Main_2"));
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
}
