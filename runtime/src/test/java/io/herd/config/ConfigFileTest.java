package io.herd.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What {@code save} writes: exactly the running configuration, in as few changed lines as it can, safely. */
class ConfigFileTest {
    @TempDir
    Path home;

    /** A path with a space, a backslash and non-ASCII in it. */
    private Path odd(String name) throws Exception {
        Path dir = Files.createDirectories(home.resolve("dir with space\\and ünïcödé"));
        Path file = dir.resolve(name);
        if (!Files.exists(file)) Files.createFile(file);
        return file;
    }

    private static String escaped(Path path) {
        return ConfigFile.escapeValue(path.toString());
    }

    /** Every app key set away from its default, with values that need escaping; a second app in proxy dispatch. */
    private String everyKey() throws Exception {
        Path jar = odd("app ü.jar");
        Path lib = odd("lib\\1.jar");
        Path workdir = jar.getParent();
        return """
                # the operator's comment, kept
                herd.logs.dir = logs
                herd.stop.timeout = 7s
                herd.ipc.dir = ipc
                herd.jolokia.host = 127.0.0.1
                herd.jolokia.port = 0
                herd.jolokia.password = a-password-of-some-length
                herd.jolokia.password.file = var/op.password
                herd.jolokia.monitor.password = another-password-of-length
                herd.jolokia.monitor.password.file = var/mon.password
                herd.jolokia.policy = conf/policy.xml
                herd.proxy.threads = 3

                app.web.listen = 127.0.0.1:18080, [::1]:18080
                app.web.instances = 3
                app.web.jar = %s
                app.web.classpath = %s
                app.web.main = com.example.Wëb
                app.web.jvm.options = -Xmx64m "-Dgreeting=hello world" "-Dpath=C:\\\\\\\\dir" -Dü=ö
                app.web.args = one "two words" "a \\\\"quote\\\\"" ""
                app.web.workdir = %s
                app.web.env.GREETING = hello, wörld \\\\ backslash
                app.web.env.MARKS = = : # ! \\\\ \u00e9 and \\u00e9
                app.web.balance = least-connections
                app.web.queue.size = 7
                app.web.queue.timeout = 3s
                app.web.ready.timeout = 4s
                app.web.kill.timeout = 6s
                app.web.ping.timeout = 9s
                app.web.max.instances = 9
                app.web.reload.surge = 2
                app.web.max.restarts = 5
                app.web.min.uptime = 2s
                app.web.restart.delay = 250ms
                app.web.restart.delay.max = 20s
                app.web.max.memory = 512M
                app.web.memory.check.interval = 45s

                # a proxied app
                app.api.listen = 127.0.0.1:18081
                app.api.jar = %s
                app.api.dispatch = proxy
                app.api.proxy.protocol = v2
                app.api.proxy.idle.timeout = 90s
                app.api.proxy.max.connections = 500
                """.formatted(escaped(jar), escaped(lib), escaped(workdir), escaped(jar));
    }

    private Path write(String text) throws Exception {
        return Files.writeString(home.resolve("herd.properties"), text, StandardCharsets.UTF_8);
    }

    private static ConfigFile saved(HerdConfig config, List<AppConfig> running, Set<String> keep) throws Exception {
        ConfigFile file = ConfigFile.read(config.source(), config.home());
        file.update(running, keep);
        file.write();
        return file;
    }

    private static java.util.SortedMap<String, AppConfig> byName(List<AppConfig> apps) {
        java.util.SortedMap<String, AppConfig> byName = new java.util.TreeMap<>();
        apps.forEach(app -> byName.put(app.name(), app));
        return byName;
    }

    private static List<String> changedLines(String before, String after) {
        List<String> a = before.lines().toList(), b = after.lines().toList();
        List<String> changed = new ArrayList<>();
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            String x = i < a.size() ? a.get(i) : null, y = i < b.size() ? b.get(i) : null;
            if (x == null || !x.equals(y)) changed.add(x + " -> " + y);
        }
        return changed;
    }

    @Test
    void loadingWhatSaveWroteGivesBackTheRunningConfigurationOnEveryKey() throws Exception {
        HerdConfig config = HerdConfig.load(write(everyKey()), home);
        assertThat(config.app("web").args(), contains("one", "two words", "a \"quote\"", ""));
        assertThat(config.app("web").env().get("MARKS"), is("= : # ! \\ \u00e9 and \u00e9"));

        // the running service: web scaled, api as configured, and an app added at run time with odd values of its own
        Map<String, String> added = Map.of("app.tool.listen", "127.0.0.1:18082", "app.tool.jar", odd("tool ü.jar").toString(),
                "app.tool.args", Words.join(List.of("x y", "back\\slash", "\"", "ñ")),
                "app.tool.env.NOTE", "spaced, \\ and = and : and # and ! inside", "app.tool.main", "a.b.C");
        AppConfig tool = HerdConfig.parse(added, config.source(), home).app("tool");
        List<AppConfig> running = List.of(config.app("web").withInstances(5), config.app("api"), tool);
        saved(config, running, Set.of());

        HerdConfig reloaded = HerdConfig.load(config.source(), home);
        assertThat(byName(reloaded.apps()), is(byName(running)));
        assertThat("the service's own settings are as they were", reloaded.jolokia(), is(config.jolokia()));
        assertThat(reloaded.stopTimeout(), is(config.stopTimeout()));
        assertThat(reloaded.ipcDir(), is(config.ipcDir()));
        assertThat(reloaded.proxyThreads(), is(config.proxyThreads()));
    }

    @Test
    void aScaleChangesOneLineAndEverythingElseStays() throws Exception {
        String before = """
                # herd's configuration, with the operator's comments
                herd.stop.timeout = 10s

                # the web app
                app.web.listen = 127.0.0.1:18080
                app.web.instances = 2
                app.web.jar = app.jar
                   # an indented comment
                app.web.jvm.options = -Xmx64m \\
                    -XX:+UseSerialGC
                """;
        Files.createFile(home.resolve("app.jar"));
        HerdConfig config = HerdConfig.load(write(before), home);
        saved(config, List.of(config.app("web").withInstances(3)), Set.of());
        String after = Files.readString(config.source());
        assertThat(changedLines(before, after), contains("app.web.instances = 2 -> app.web.instances = 3"));
        assertThat("no default of today frozen into the file", after, not(containsString("queue.size")));

        saved(config, List.of(config.app("web").withInstances(3)), Set.of());
        assertThat("saving again changes nothing", Files.readString(config.source()), is(after));
    }

    @Test
    void saveWritesAFormerKeyUnderItsNewNameInPlace() throws Exception {
        Files.createFile(home.resolve("app.jar"));
        String before = """
                app.web.listen = 127.0.0.1:18080
                app.web.reload.parallelism = 2
                app.web.jar = app.jar
                """;
        HerdConfig config = HerdConfig.load(write(before), home);
        saved(config, List.of(config.app("web")), Set.of());
        String after = Files.readString(config.source());
        assertThat(changedLines(before, after), contains("app.web.reload.parallelism = 2 -> app.web.reload.surge = 2"));
        assertThat(HerdConfig.load(config.source(), home).app("web"), is(config.app("web")));
    }

    @Test
    void appsAddedAreAppendedAndAppsDeletedAreRemoved() throws Exception {
        Files.createFile(home.resolve("app.jar"));
        String before = """
                # comment one
                app.web.listen = 127.0.0.1:18080
                app.web.jar = app.jar

                # comment two
                app.old.listen = 127.0.0.1:18081
                app.old.jar = app.jar
                app.paused.listen = 127.0.0.1:18082
                app.paused.jar = app.jar
                # comment three
                """;
        HerdConfig config = HerdConfig.load(write(before), home);
        AppConfig added = HerdConfig.parse(Map.of("app.new.listen", "127.0.0.1:18083", "app.new.jar", "app.jar", "app.new.instances", "2"),
                config.source(), home).app("new");
        saved(config, List.of(config.app("web"), added), Set.of("paused"));
        String after = Files.readString(config.source());
        assertThat(after, not(containsString("app.old.")));
        assertThat("a stopped app keeps its lines", after, containsString("app.paused.jar = app.jar"));
        assertThat(after, containsString("# comment one\napp.web.listen = 127.0.0.1:18080\napp.web.jar = app.jar\n\n# comment two\n"));
        assertThat(after, containsString("# comment three\n"));
        assertThat("only what differs from the defaults", after, containsString("app.new.listen = 127.0.0.1:18083\napp.new.instances = 2\napp.new.jar = "));
        assertThat(after, not(containsString("app.new.balance")));
        assertThat(byName(HerdConfig.load(config.source(), home).apps()).keySet(), contains("new", "paused", "web"));
    }

    @Test
    void theFileAndItsBackupKeepTheirModeAndOwner() throws Exception {
        Files.createFile(home.resolve("app.jar"));
        Path file = write("app.web.listen = 127.0.0.1:18080\napp.web.jar = app.jar\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        HerdConfig config = HerdConfig.load(file, home);
        String before = Files.readString(file);
        saved(config, List.of(config.app("web").withInstances(4)), Set.of());
        Path backup = home.resolve("herd.properties.bak");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), is("rw-------"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(backup)), is("rw-------"));
        assertThat(Files.readString(backup), is(before));
        try (var left = Files.list(home)) {
            assertThat("no temporary file is left", left.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList(), is(List.of()));
        }
    }

    @Test
    void asRootTheOwnerIsKept() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root, to give the file to another user");
        Files.createFile(home.resolve("app.jar"));
        Path file = write("app.web.listen = 127.0.0.1:18080\napp.web.jar = app.jar\n");
        UserPrincipal nobody = file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.setOwner(file, nobody);
        HerdConfig config = HerdConfig.load(file, home);
        saved(config, List.of(config.app("web").withInstances(4)), Set.of());
        assertThat(Files.getOwner(file), is(nobody));
        assertThat(Files.getOwner(home.resolve("herd.properties.bak")), is(nobody));
    }

    @Test
    void anAppWithNoWorkerIsNotSavedAsOnePerCore() throws Exception {
        Files.createFile(home.resolve("app.jar"));
        HerdConfig config = HerdConfig.load(write("app.web.listen = 127.0.0.1:18080\napp.web.jar = app.jar\n"), home);
        ConfigFile file = ConfigFile.read(config.source(), home);
        assertThat(assertThrows(IllegalStateException.class, () -> file.update(List.of(config.app("web").withInstances(0)), Set.of()))
                .getMessage(), containsString("runs no worker"));
    }

    @Test
    void wordsRoundTripWhateverTheyHold() {
        List<String> words = List.of("plain", "two words", "", "\"", "\\", "a\\\"b", "tab\there", "ü", "-Dx=\"y z\"");
        assertThat(Words.split(Words.join(words)), is(words));
        assertThat(Words.split("-Dgreeting=\"hello world\"  -Xmx64m"), contains("-Dgreeting=hello world", "-Xmx64m"));
        assertThat(Words.split("C:\\dir\\file"), contains("C:\\dir\\file"));
        assertThrows(IllegalArgumentException.class, () -> Words.split("\"unclosed"));
    }
}
