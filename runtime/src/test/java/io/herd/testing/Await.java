package io.herd.testing;

import java.time.Duration;
import java.util.function.Predicate;

/**
 * The one way tests wait: poll until a condition holds, and fail loudly when it does not in time.
 * A wait that returned quietly on timeout would let a test go on from a state it never reached
 * and fail later for the wrong reason, or pass without testing anything; so a timeout throws an
 * {@link AssertionError} naming what was awaited and what was seen last.
 */
public final class Await {
    private static final long POLL_MILLIS = 20;

    private Await() {
    }

    /** Something a wait reads, again and again; it may throw (a failing probe fails the wait). */
    @FunctionalInterface
    public interface Probe<T> {
        T get() throws Exception;
    }

    /**
     * Reads {@code probe} until what it returns satisfies {@code condition}, and returns that.
     *
     * @param awaited what the test waits for, as the failure message should say it
     * @throws AssertionError when {@code limit} passes first, saying what was awaited and last seen
     */
    public static <T> T until(String awaited, Probe<T> probe, Predicate<? super T> condition, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        T seen = read(awaited, probe);
        while (!condition.test(seen)) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("waited " + readable(limit) + " for " + awaited + "; last seen: " + seen);
            }
            Thread.sleep(POLL_MILLIS);
            seen = read(awaited, probe);
        }
        return seen;
    }

    /** Waits until {@code check} is true; throws an {@link AssertionError} naming {@code awaited} when {@code limit} passes first. */
    public static void until(String awaited, Probe<Boolean> check, Duration limit) throws InterruptedException {
        until(awaited, check, Boolean::booleanValue, limit);
    }

    private static String readable(Duration limit) {
        return limit.toMillis() % 1000 == 0 ? limit.toSeconds() + " s" : limit.toMillis() + " ms";
    }

    private static <T> T read(String awaited, Probe<T> probe) throws InterruptedException {
        try {
            return probe.get();
        } catch (RuntimeException | InterruptedException e) {
            throw e;
        } catch (Exception e) {
            throw new AssertionError("while waiting for " + awaited + ", reading the state failed: " + e, e);
        }
    }
}
