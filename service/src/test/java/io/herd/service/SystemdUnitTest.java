package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.emptyString;
import static org.hamcrest.Matchers.hasItems;
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

        assertThat(systemdAnalyzeVerify(unit), is(emptyString()));
    }

    /** conf/herd.socket, next to the service unit it starts, passes the same check, and listens where the example app does. */
    @Test
    void theShippedSocketUnitVerifiesWithoutAWarning() throws Exception {
        assertThat("systemd-analyze is needed: apt-get install systemd", Files.isExecutable(SYSTEMD_ANALYZE), is(true));
        String socket = Files.readString(PROJECT.resolve("conf/herd.socket"));
        assertThat(socket, allOf(containsString("Service=herd.service"), containsString("FileDescriptorName=hello")));
        assertThat("the example app's address", Files.readString(PROJECT.resolve("conf/herd.properties")),
                containsString("app.hello.listen = " + socket.lines().filter(line -> line.startsWith("ListenStream="))
                        .findFirst().orElseThrow().substring("ListenStream=".length())));
        // verify loads the unit the socket starts: it must sit beside it.
        Files.writeString(dir.resolve("herd.service"), Files.readString(PROJECT.resolve("conf/herd.service")).replace("/opt/herd", PROJECT.toString()));
        Path unit = Files.writeString(dir.resolve("herd.socket"), socket.replace("/opt/herd", PROJECT.toString()));

        assertThat(systemdAnalyzeVerify(unit), is(emptyString()));
    }

    /** What {@code systemd-analyze verify} says about {@code unit}, once it exited 0. */
    private static String systemdAnalyzeVerify(Path unit) throws Exception {
        Process verify = new ProcessBuilder(SYSTEMD_ANALYZE.toString(), "verify", unit.toString()).redirectErrorStream(true).start();
        String out = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(verify.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(out, verify.exitValue(), is(0));
        return out;
    }

    /** herd.service: the foreground service as systemd's notifying, watched main process. */
    @Test
    void theNotifyUnitRunsTheServiceInTheForegroundAsTheMainProcessUnderTheWatchdog() throws Exception {
        // KillMode=mixed: SIGTERM to the master alone, which drains its workers; the default would signal them all at once.
        assertThat(lines("herd.service"), hasItems("Type=notify", "NotifyAccess=main", "ExecStart=/opt/herd/bin/herd run",
                "ExecReload=/bin/kill -USR2 $MAINPID", "WatchdogSec=30s", "WatchdogSignal=SIGQUIT", "TimeoutAbortSec=10s", "User=herd", "KillMode=mixed", "Restart=on-failure"));
    }

    /** herd-jsvc.service: the jsvc alternative, as it was. */
    @Test
    void theJsvcUnitStartsHerdServiceForking() throws Exception {
        assertThat(lines("herd-jsvc.service"), hasItems("Type=forking", "ExecStart=/opt/herd/bin/herd-service start",
                "ExecStop=/opt/herd/bin/herd-service stop", "Restart=always"));
    }

    private static List<String> lines(String unit) throws IOException {
        return Files.readAllLines(PROJECT.resolve("conf").resolve(unit));
    }
}
