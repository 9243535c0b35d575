package io.herd.testing;

import io.herd.engine.TestCluster;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The tests' one wait: it returns what it awaited, or fails saying what it awaited and saw. */
class AwaitTest {

    @Test
    void returnsTheFirstValueThatSatisfiesTheCondition() throws Exception {
        AtomicInteger counter = new AtomicInteger();
        assertThat(Await.until("the counter at 3", counter::incrementAndGet, count -> count >= 3, Duration.ofSeconds(10)), is(3));
    }

    @Test
    void aTimeoutFailsNamingWhatWasAwaitedAndWhatWasSeenLast() {
        AssertionError timedOut = assertThrows(AssertionError.class,
                () -> Await.until("the answer", () -> 41, value -> value == 42, Duration.ofMillis(100)));
        assertThat(timedOut.getMessage(), allOf(containsString("waited 100 ms for the answer"), containsString("last seen: 41")));
    }

    @Test
    void theClusterFixturesWaitFailsOnTimeoutToo() {
        assertThrows(AssertionError.class, () -> TestCluster.await(() -> 41, value -> value == 42, Duration.ofMillis(100)));
    }

    @Test
    void aConditionThatNeverHoldsFailsToo() {
        AssertionError timedOut = assertThrows(AssertionError.class, () -> Await.until("a miracle", () -> false, Duration.ofMillis(100)));
        assertThat(timedOut.getMessage(), containsString("for a miracle"));
    }

    @Test
    void aProbeThatThrowsFailsTheWaitWithItsCause() {
        AssertionError failed = assertThrows(AssertionError.class, () -> Await.until("a file", () -> {
            throw new IOException("no such file");
        }, Duration.ofSeconds(10)));
        assertThat(failed.getMessage(), containsString("while waiting for a file"));
        assertThat(failed.getCause(), is(instanceOf(IOException.class)));
    }
}
