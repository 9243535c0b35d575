package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * examples/fleet/fleet.sh, the targets: three hosts (network namespaces), one herd each,
 * a real HAProxy in front with {@code retries 0} using herd's agent checks, and under wrk no
 * request fails while one host is stopped and started again, nor while all three are reloaded
 * by one CLI command. The script measures and judges; this test runs it on the packaged service
 * (so: after package), shows its report, and holds it to its exit code. Where the machine cannot
 * build a fleet (not root, no network namespaces, no haproxy or wrk) the script exits 77 and says
 * why, and the test is skipped with that reason.
 */
class FleetScriptIT {
    private static final Path SCRIPT = Path.of("..", "examples", "fleet", "fleet.sh").toAbsolutePath().normalize();
    /** fleet.sh's exit code for "this machine cannot build a fleet". */
    private static final int SKIPPED = 77;
    /** A whole run takes 1-2 minutes; this is for a machine far slower than that, not a wait. */
    private static final Duration HARD_LIMIT = Duration.ofMinutes(5);
    /** What the script's own cleanup (its EXIT trap) gets after a SIGTERM: it stops three herds and HAProxy. */
    private static final Duration CLEANUP_LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path scratch;

    @Test
    @Timeout(value = 7, unit = TimeUnit.MINUTES)
    void noRequestFailsThroughHaproxyWhileAHostRestartsAndWhileTheFleetReloads() throws Exception {
        Path output = scratch.resolve("fleet.out");
        ProcessBuilder builder = new ProcessBuilder(SCRIPT.toString()).redirectErrorStream(true).redirectOutput(output.toFile());
        builder.environment().put("TMPDIR", scratch.toString()); // its scratch directory, removed with ours
        Process fleet = builder.start();
        int exit;
        try {
            exit = runToTheEnd(fleet);
        } finally {
            System.out.println(Files.readString(output)); // the report, in the build's log
        }
        String report = Files.readString(output);
        assumeTrue(exit != SKIPPED, () -> skipReason(report));
        assertThat(report, exit, is(0));
        assertThat(report, containsString("fleet: a. host1 stopped and started again"));
        assertThat(report, containsString("fleet: b. rolling reload of 3 hosts, one command"));
        assertThat(report, containsString("fleet: OK: no request failed"));
    }

    /** Waits for the script; past the hard limit, stops it and everything it started, and fails. */
    private static int runToTheEnd(Process fleet) throws InterruptedException, IOException {
        if (fleet.waitFor(HARD_LIMIT.toSeconds(), TimeUnit.SECONDS)) return fleet.exitValue();
        // Its processes, taken now: once it has exited they are no longer its descendants.
        List<ProcessHandle> started = fleet.descendants().toList();
        fleet.destroy(); // SIGTERM: its trap stops the herds and HAProxy and removes the namespaces and the bridge
        boolean cleanedUp = fleet.waitFor(CLEANUP_LIMIT.toSeconds(), TimeUnit.SECONDS);
        started.forEach(ProcessHandle::destroyForcibly);
        fleet.destroyForcibly();
        throw new AssertionError("fleet.sh did not finish within " + HARD_LIMIT
                + (cleanedUp ? "; stopped, and it cleaned up" : "; killed, its cleanup unfinished too"));
    }

    /** The script's own words for why it skipped: its "fleet: SKIPPED: ..." line. */
    private static String skipReason(String report) {
        return report.lines().filter(line -> line.startsWith("fleet: SKIPPED: ")).findFirst()
                .map(line -> line.substring("fleet: ".length())).orElse("fleet.sh exited " + SKIPPED + " (skipped): " + report);
    }
}
