package io.herd.engine;

import io.herd.config.AppConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;

/**
 * The restart policy's arithmetic, exit by exit (RestartTest shows it with real worker JVMs):
 * min.uptime 1 s, restart.delay 0 and restart.backoff 100 ms (the defaults), restart.delay.max
 * 300 ms, max.restarts 3.
 */
class RestartPolicyTest {
    private final RestartPolicy policy = new RestartPolicy(restart(0, 100, 300));
    private final Instances.Slot slot = new Instances.Slot(0);

    private static AppConfig.Restart restart(long delayMillis, long backoffMillis, long maxDelayMillis) {
        return new AppConfig.Restart(3, Duration.ofSeconds(1), Duration.ofMillis(delayMillis), Duration.ofMillis(backoffMillis),
                Duration.ofMillis(maxDelayMillis));
    }

    private RestartPolicy.Decision exitAfterOnline(long millis) {
        return policy.afterExit(slot, millis);
    }

    @Test
    void aStableExitIsRestartedAtOnceHoweverOftenItHappens() {
        for (int exit = 0; exit < 20; exit++) assertThat(exitAfterOnline(1_000), is(new RestartPolicy.Decision(false, 0)));
    }

    @Test
    void unstableExitsInARowBackOffFromTheBackoffUpToTheMostAndAStableOneResetsIt() {
        assertThat(exitAfterOnline(999).delayMillis(), is(100L));
        assertThat(exitAfterOnline(RestartPolicy.NEVER_ONLINE).delayMillis(), is(150L));
        assertThat(exitAfterOnline(0).delayMillis(), is(225L));
        assertThat(exitAfterOnline(5_000), is(new RestartPolicy.Decision(false, 0)));
        assertThat("the back-off starts again", exitAfterOnline(10).delayMillis(), is(100L));
    }

    @Test
    void aRestartDelayLongerThanTheBackoffIsWhereTheBackOffStarts() {
        RestartPolicy patient = new RestartPolicy(restart(200, 100, 1_000));
        assertThat("stable", patient.afterExit(slot, 1_000).delayMillis(), is(200L));
        assertThat("unstable", Stream.of(0L, 0L, 0L).map(exit -> patient.afterExit(slot, exit).delayMillis()).toList(),
                contains(200L, 300L, 450L));
    }

    @Test
    void aBackoffLongerThanTheRestartDelayIsWhereTheBackOffStarts() {
        RestartPolicy brief = new RestartPolicy(restart(50, 100, 1_000));
        assertThat("stable", brief.afterExit(slot, 1_000).delayMillis(), is(50L));
        assertThat("unstable", brief.afterExit(slot, 0).delayMillis(), is(100L));
        assertThat("unstable", brief.afterExit(slot, 0).delayMillis(), is(150L));
    }

    @Test
    void moreUnstableExitsInARowThanMaxRestartsAreErrored() {
        for (int exit = 0; exit < 3; exit++) assertThat(exitAfterOnline(RestartPolicy.NEVER_ONLINE).errored(), is(false));
        assertThat("capped at restart.delay.max", slot.nextDelayMillis, is(300L));
        assertThat(exitAfterOnline(RestartPolicy.NEVER_ONLINE).errored(), is(true));
    }

    @Test
    void withMinUptimeZeroOnlyAWorkerThatNeverCameOnlineIsUnstable() {
        RestartPolicy noMinimum = new RestartPolicy(new AppConfig.Restart(0, Duration.ZERO, Duration.ZERO, Duration.ofMillis(100),
                Duration.ofMillis(300)));
        assertThat(noMinimum.afterExit(slot, 0), is(new RestartPolicy.Decision(false, 0)));
        assertThat(noMinimum.afterExit(slot, RestartPolicy.NEVER_ONLINE).errored(), is(true));
    }
}
