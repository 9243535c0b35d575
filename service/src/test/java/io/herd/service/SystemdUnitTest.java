package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.emptyString;
import static org.hamcrest.Matchers.is;

/** conf/herd.service passes systemd's own check, pointed at this tree instead of /opt/herd. */
@Timeout(60)
class SystemdUnitTest {
    private static final Path PROJECT = Path.of("..").toAbsolutePath().normalize();
    private static final Path SYSTEMD_ANALYZE = Path.of("/usr/bin/systemd-analyze");

    @TempDir
    Path dir;

    @Test
    void theShippedUnitVerifiesWithoutAWarning() throws Exception {
        assertThat("systemd-analyze is needed: apt-get install systemd", Files.isExecutable(SYSTEMD_ANALYZE), is(true));
        String shipped = Files.readString(PROJECT.resolve("conf/herd.service"));
        assertThat(shipped, containsString("ExecStart=/opt/herd/bin/herd-service start"));
        // verify checks that every command exists: the README installs herd at /opt/herd.
        Path unit = Files.writeString(dir.resolve("herd.service"), shipped.replace("/opt/herd", PROJECT.toString()));

        Process verify = new ProcessBuilder(SYSTEMD_ANALYZE.toString(), "verify", unit.toString()).redirectErrorStream(true).start();
        String out = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(verify.waitFor(30, TimeUnit.SECONDS), is(true));
        assertThat(out, is(emptyString()));
        assertThat(verify.exitValue(), is(0));
    }
}
