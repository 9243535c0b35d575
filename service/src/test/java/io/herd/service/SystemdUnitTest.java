package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.emptyString;
import static org.hamcrest.Matchers.is;

/**
 * The shipped units, conf/herd.service (Type=notify, `herd run`) and conf/herd-jsvc.service (jsvc),
 * pass systemd's own check, pointed at this tree instead of /opt/herd.
 */
@Timeout(60)
class SystemdUnitTest {
    private static final Path PROJECT = Path.of("..").toAbsolutePath().normalize();
    private static final Path SYSTEMD_ANALYZE = Path.of("/usr/bin/systemd-analyze");

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"herd.service", "herd-jsvc.service"})
    void theShippedUnitVerifiesWithoutAWarning(String name) throws Exception {
        assertThat("systemd-analyze is needed: apt-get install systemd", Files.isExecutable(SYSTEMD_ANALYZE), is(true));
        String shipped = Files.readString(PROJECT.resolve("conf").resolve(name));
        // verify checks that every command exists: the README installs herd at /opt/herd.
        Path unit = Files.writeString(dir.resolve(name), shipped.replace("/opt/herd", PROJECT.toString()));

        Process verify = new ProcessBuilder(SYSTEMD_ANALYZE.toString(), "verify", unit.toString()).redirectErrorStream(true).start();
        String out = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(verify.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(out, is(emptyString()));
        assertThat(verify.exitValue(), is(0));
    }

    /** herd.service: the foreground service as systemd's notifying, watched main process. */
    @Test
    void theNotifyUnitRunsTheServiceInTheForegroundAsTheMainProcessUnderTheWatchdog() throws Exception {
        String unit = Files.readString(PROJECT.resolve("conf/herd.service"));
        assertThat(unit, containsString("\nType=notify\n"));
        assertThat(unit, containsString("\nNotifyAccess=main\n"));
        assertThat(unit, containsString("\nExecStart=/opt/herd/bin/herd run\n"));
        assertThat(unit, containsString("\nExecReload=/bin/kill -USR2 $MAINPID\n"));
        assertThat(unit, containsString("\nWatchdogSec="));
        assertThat(unit, containsString("\nUser=herd\n"));
        // SIGTERM to the master alone: it drains its workers; the default would signal them all at once.
        assertThat(unit, containsString("\nKillMode=mixed\n"));
    }

    /** herd-jsvc.service: the jsvc alternative, as it was. */
    @Test
    void theJsvcUnitStartsHerdServiceForking() throws Exception {
        String unit = Files.readString(PROJECT.resolve("conf/herd-jsvc.service"));
        assertThat(unit, containsString("\nType=forking\n"));
        assertThat(unit, containsString("\nExecStart=/opt/herd/bin/herd-service start\n"));
        assertThat(unit, containsString("\nExecStop=/opt/herd/bin/herd-service stop\n"));
    }
}
