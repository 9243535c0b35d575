package io.herd.engine;

import io.herd.lifecycle.LifeCycle;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;

/** An Error escaping one of the master's threads is never lost: it reaches the master's owner. */
@Timeout(120)
class FatalErrorsTest {
    private record Seen(String thread, Error error) {
    }

    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final FatalErrors fatalErrors = new FatalErrors((thread, error) -> seen.add(new Seen(thread.getName(), error)));

    @Test
    void anErrorEndingAGuardedThreadReachesTheHandlerWithThatThread() throws Exception {
        Error error = new OutOfMemoryError("test: as if a relay buffer could not be had");
        Thread thread = new Thread(fatalErrors.guarded(() -> {
            throw error;
        }), "herd-relay-test");
        thread.start();
        thread.join(10_000);

        assertThat(seen, contains(new Seen("herd-relay-test", error)));
    }

    @Test
    void onlyTheFirstErrorReachesTheHandlerLaterOnesAreLogged() {
        fatalErrors.report(new OutOfMemoryError("test: first"));
        fatalErrors.report(new OutOfMemoryError("test: second"));

        assertThat(seen, hasSize(1));
        assertThat(seen.getFirst().error().getMessage(), is("test: first"));
    }

    @Test
    void anErrorInATimerTaskReachesTheHandlerInsteadOfStayingInItsFuture() throws Exception {
        ScheduledThreadPoolExecutor timer = fatalErrors.newTimer("herd-housekeeping-test");
        try {
            timer.scheduleWithFixedDelay(() -> {
                throw new StackOverflowError("test: in a periodic task");
            }, 0, 10, TimeUnit.MILLISECONDS);
            Await.until("the handler to hear of the error", () -> !seen.isEmpty(), Duration.ofSeconds(10));

            assertThat(seen, hasSize(1));
            assertThat(seen.getFirst().thread(), is("herd-housekeeping-test"));
            assertThat(seen.getFirst().error().getMessage(), is("test: in a periodic task"));
        } finally {
            timer.shutdownNow();
        }
    }

    /**
     * The default, for a master embedded in another JVM (this test's): the master stops, its
     * workers with it, and the JVM lives on.
     */
    @Test
    void byDefaultAnErrorOnAnAppsEventThreadStopsTheMasterAndItsWorkers() throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of())) {
            long worker = herd.awaitOnline(1).workers().getFirst().pid();
            herd.cluster.post(() -> {
                throw new OutOfMemoryError("test: as if the heap ran out halfway through an event");
            });

            Await.until("the master to stop", herd.master::state, now -> now == LifeCycle.State.STOPPED, Duration.ofSeconds(30));
            assertThat("the worker is gone", ProcessHandle.of(worker).map(ProcessHandle::isAlive).orElse(false), is(false));
        }
    }
}
