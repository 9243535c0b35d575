package io.herd.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The declarations of {@link Settings}: what they write back, and the README's table made from them. (Their checks: HerdConfigTest.) */
class SettingsTest {
    @TempDir
    Path home;

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
        Files.createFile(home.resolve("app.jar"));
        Path file = Files.writeString(home.resolve("herd.properties"), """
                herd.logs.dir = var/my logs
                herd.log.format = json
                herd.stop.timeout = 90s
                herd.drain.delay = 3s
                herd.health.listen = 127.0.0.1:18079
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
                app.web.agent.listen = [::1]:18081
                app.web.instances = 3
                app.web.spares = 2
                app.web.jar = app.jar
                app.web.classpath = app.jar:lib dir
                app.web.main = com.example.Outer$Main
                app.web.jvm.options = -Xmx64m "-Dgreeting=hello world" -Dq="a \\\\"quoted\\\\" word"
                app.web.args = one "two words" ""
                app.web.aot = off
                app.web.env.GREETING = hello, world
                app.web.workdir = lib dir
                app.web.balance = least-connections
                app.web.queue.size = 0
                app.web.queue.timeout = 1500ms
                app.web.ready.timeout = 2m
                app.web.kill.timeout = 1h
                app.web.ping.timeout = 3s
                app.web.max.instances = 5
                app.web.reload.surge = 50%
                app.web.max.restarts = 0
                app.web.min.uptime = 0
                app.web.restart.delay = 0ms
                app.web.restart.backoff = 250ms
                app.web.restart.delay.max = 20s
                app.web.max.memory = 1536k
                app.web.memory.check.interval = 45s
                app.web.health.url = http://web.example:8080/healthz?deep=1
                app.web.health.interval = 30s
                app.web.health.timeout = 500ms
                app.web.health.failures = 5
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
        HerdConfig reloaded = HerdConfig.load(Files.writeString(file, text), home);

        assertThat(reloaded.apps(), is(loaded.apps()));
        assertThat(reloaded.jolokia(), is(loaded.jolokia()));
        assertThat(reloaded.jmx(), is(loaded.jmx()));
        assertThat(reloaded.serviceKeys(), is(loaded.serviceKeys()));
        AppConfig web = reloaded.app("web");
        assertThat(web.jvmOptions(), contains("-Xmx64m", "-Dgreeting=hello world", "-Dq=a \"quoted\" word"));
        assertThat(web.args(), contains("one", "two words", ""));
        assertThat(web.maxMemoryBytes(), is(1536L * 1024));
        assertThat(web.restart().delay(), is(Duration.ZERO));
        assertThat(web.restart().backoff(), is(Duration.ofMillis(250)));
    }
}
