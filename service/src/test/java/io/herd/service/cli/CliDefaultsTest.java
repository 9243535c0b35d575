package io.herd.service.cli;

import io.herd.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/** Where the CLI looks for the service when not told: the configuration's own defaults, from its declarations. */
class CliDefaultsTest {
    private final String homeBefore = System.getProperty("herd.home");

    @TempDir
    Path home;

    @AfterEach
    void restoreHome() {
        if (homeBefore == null) System.clearProperty("herd.home");
        else System.setProperty("herd.home", homeBefore);
    }

    @Test
    void theUsageSaysTheDefaultsTheConfigurationDeclares() {
        CliRunner.Run help = CliRunner.run("--help");
        assertThat(help.exit(), is(0));
        assertThat(help.out(), allOf(containsString("herd.jolokia.host = " + Settings.JOLOKIA_HOST.defaultValue()),
                containsString("herd.jolokia.port = " + Settings.JOLOKIA_PORT.defaultValue()),
                containsString("herd.jolokia.password.file = " + Settings.JOLOKIA_PASSWORD_FILE.defaultValue())));
    }

    @Test
    void withoutAConfigurationTheDefaultPasswordFileIsTheOneLookedFor() throws Exception {
        System.setProperty("herd.home", home.toString());
        CliRunner.Run list = CliRunner.run("list");
        assertThat(list.exit(), is(3));
        assertThat(list.err(), containsString(home.resolve(Settings.JOLOKIA_PASSWORD_FILE.defaultValue()).toString()));
        CliRunner.Run monitor = CliRunner.run("list", "--user", "herd-monitor");
        assertThat(monitor.err(), containsString(home.resolve(Settings.JOLOKIA_MONITOR_PASSWORD_FILE.defaultValue()).toString()));
    }

    @Test
    void anIpv6JolokiaHostMakesAUrlThatParses() throws Exception {
        System.setProperty("herd.home", home.toString());
        Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("conf/herd.properties"), "herd.jolokia.host = ::1\nherd.jolokia.port = 1\n");
        Path password = Files.writeString(home.resolve("password"), "a-password");
        CliRunner.Run list = CliRunner.run("list", "--password-file", password.toString());
        assertThat("unreachable, not a URL that does not parse", list.exit(), is(3));
        assertThat(list.err(), containsString("cannot reach the herd service at http://[::1]:1/jolokia/"));
    }
}
