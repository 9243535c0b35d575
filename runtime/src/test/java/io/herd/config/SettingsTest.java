package io.herd.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The declarations of {@link Settings}: their bounds, what they write back, and the README's table made from them. */
class SettingsTest {
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
    void theReadmesTableOfKeysIsTheDeclarations() throws IOException {
        Path readme = Path.of("").toAbsolutePath().getParent().resolve("README.md");
        String text = Files.readString(readme);
        String begin = "<!-- settings:begin (made from io.herd.config.Settings: edit there, then paste what SettingsTest prints) -->\n";
        String end = "<!-- settings:end -->";
        assertThat("README.md marks its table of keys", text, allOf(containsString(begin), containsString(end)));
        String table = text.substring(text.indexOf(begin) + begin.length(), text.indexOf(end));
        // assertEquals prints both whole: the expected one is what to paste into README.md
        assertEquals(Settings.markdownTable(), table, "README.md's table of keys differs from io.herd.config.Settings; paste this:\n"
                + Settings.markdownTable());
    }

    @Test
    void everySettingIsDeclaredOnceWithADocLine() {
        Set<String> keys = new HashSet<>();
        for (Setting<?, ?> setting : Settings.ALL) {
            assertThat(setting + " is declared once", keys.add(setting.key()), is(true));
            assertThat(setting + " says what it means, in one line", setting.doc().isBlank() || setting.doc().contains("\n"), is(false));
        }
    }

    /**
     * Every key, each away from its default, loaded from text, written back by its declaration,
     * and loaded again: the same configuration.
     */
    @Test
    void everyKeyLoadsWritesBackAndLoadsTheSame() throws Exception {
        Files.writeString(home.resolve("server.p12"), "a keystore");
        Files.writeString(home.resolve("keystore.password"), "its password");
        Files.createDirectories(home.resolve("lib dir"));
        Path file = write("""
                herd.logs.dir = var/my logs
                herd.stop.timeout = 90s
                herd.ipc.dir = /run/herd
                herd.jmx.port = 9010
                herd.jmx.host = localhost
                herd.jmx.ssl = true
                herd.jmx.ssl.keystore = server.p12
                herd.jmx.ssl.keystore.password = a secret
                herd.jolokia.host = ::1
                herd.jolokia.port = 0
                herd.jolokia.password = an-operator-password
                herd.jolokia.password.file = var/op
                herd.jolokia.monitor.password = a-monitor-password
                herd.jolokia.monitor.password.file = var/mon
                herd.jolokia.policy = conf/policy.xml
                herd.jolokia.ssl = true
                herd.jolokia.ssl.keystore = server.p12
                herd.jolokia.ssl.keystore.password.file = keystore.password
                herd.proxy.threads = 3

                app.web.listen = 127.0.0.1:18080, [::1]:18080
                app.web.instances = 3
                app.web.jar = app.jar
                app.web.classpath = app.jar:lib dir
                app.web.main = com.example.Outer$Main
                app.web.jvm.options = -Xmx64m "-Dgreeting=hello world" -Dq="a \\\\"quoted\\\\" word"
                app.web.args = one "two words" ""
                app.web.env.GREETING = hello, world
                app.web.workdir = lib dir
                app.web.balance = least-connections
                app.web.queue.size = 0
                app.web.queue.timeout = 1500ms
                app.web.ready.timeout = 2m
                app.web.kill.timeout = 1h
                app.web.ping.timeout = 3s
                app.web.max.instances = 5
                app.web.reload.parallelism = 2
                app.web.max.restarts = 0
                app.web.min.uptime = 0
                app.web.restart.delay = 0ms
                app.web.restart.delay.max = 20s
                app.web.max.memory = 1536k
                app.web.memory.check.interval = 45s
                app.web.dispatch = proxy
                app.web.proxy.protocol = v1
                app.web.proxy.idle.timeout = 90s
                app.web.proxy.max.connections = 7
                """);
        HerdConfig loaded = HerdConfig.load(file, home);
        Set<String> written = new HashSet<>(loaded.serviceKeys().keySet());
        loaded.apps().forEach(app -> written.addAll(HerdConfig.keysOf(app).keySet()));
        for (Setting<?, ?> setting : Settings.ALL) {
            String key = setting.perApp() ? setting.key("web").replace("<VAR>", "GREETING") : setting.key();
            boolean eitherOr = setting == Settings.JMX_SSL_KEYSTORE_PASSWORD_FILE || setting == Settings.JOLOKIA_SSL_KEYSTORE_PASSWORD;
            assertThat("the test sets and save writes " + key, written.contains(key), is(!eitherOr));
        }

        StringBuilder text = new StringBuilder();
        Map<String, String> keys = new LinkedHashMap<>(loaded.serviceKeys());
        loaded.apps().forEach(app -> keys.putAll(HerdConfig.keysOf(app)));
        keys.forEach((key, value) -> text.append(ConfigFile.escapeKey(key)).append(" = ").append(ConfigFile.escapeValue(value)).append('\n'));
        HerdConfig reloaded = HerdConfig.load(write(text.toString()), home);

        assertThat(reloaded.apps(), is(loaded.apps()));
        assertThat(reloaded.jolokia(), is(loaded.jolokia()));
        assertThat(reloaded.jmx(), is(loaded.jmx()));
        assertThat(reloaded.serviceKeys(), is(loaded.serviceKeys()));
        AppConfig web = reloaded.app("web");
        assertThat(web.jvmOptions(), contains("-Xmx64m", "-Dgreeting=hello world", "-Dq=a \"quoted\" word"));
        assertThat(web.args(), contains("one", "two words", ""));
        assertThat(web.maxMemoryBytes(), is(1536L * 1024));
        assertThat(web.restart().delay(), is(Duration.ZERO));
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
        AppConfig web = HerdConfig.load(write(APP + "app.web.min.uptime = 0\napp.web.restart.delay = 0\napp.web.restart.delay.max = 0\n"
                + "app.web.max.memory = 0\n"), home).app("web");
        assertThat(web.restart(), is(new AppConfig.Restart(16, Duration.ZERO, Duration.ZERO, Duration.ZERO)));
        assertThat("0 is no limit", web.maxMemoryBytes(), is(0L));
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
        for (String bad : List.of("com..Main", "com.example.", "int.Main", "com.class.Main", "1Main", "com/example/Main")) {
            assertThat(bad, problemsWith(APP + "app.web.main = " + bad + "\n"),
                    containsString("herd.properties: app.web.main: '" + bad + "' is not a Java class name"));
        }
        assertThat(HerdConfig.load(write(APP + "app.web.main = com.example.Outer$Inner\n"), home).app("web").mainClass(),
                is("com.example.Outer$Inner"));
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
