package io.herd.engine;

import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The master's heartbeat, what systemd's watchdog hears: it beats only while every event loop
 * goes round, so a stuck one silences it, and says which.
 */
@Timeout(120)
class HeartbeatTest {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @Test
    void aStuckEventThreadSilencesTheHeartbeatUntilItGoesRoundAgain() throws Exception {
        String missed = "no heartbeat: app whoami's event thread did not answer within 200 ms";
        try (LogCapture log = LogCapture.of(Master.class); TestCluster herd = TestCluster.start(1, Map.of())) {
            AtomicInteger beats = new AtomicInteger();
            herd.master.heartbeat(Duration.ofMillis(200), beats::incrementAndGet);
            Await.until("three beats", () -> beats.get() >= 3, LIMIT);

            CountDownLatch stuck = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            herd.cluster.post(() -> {
                stuck.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            try {
                if (!stuck.await(30, TimeUnit.SECONDS)) throw new AssertionError("the event thread never ran the task that blocks it");
                Await.until("a beat missed, naming the event thread", () -> missedBeats(log, missed) >= 1, LIMIT);
                int beatsWhileStuck = beats.get();
                Await.until("a second beat missed", () -> missedBeats(log, missed) >= 2, LIMIT);
                assertThat("no beat while the event thread is stuck", beats.get(), is(beatsWhileStuck));
            } finally {
                release.countDown();
            }
            int before = beats.get();
            Await.until("beats again once it goes round", () -> beats.get() > before, LIMIT);
        }
    }

    private static long missedBeats(LogCapture log, String warning) {
        return log.warnings().stream().filter(warning::equals).count();
    }
}
