package io.herd.engine;

import io.herd.config.AppConfig;

/**
 * When a worker that exited unexpectedly is started again (see {@link AppConfig.Restart}):
 * exponential back-off, reset after a stable run, and errored after a crash loop.
 */
final class RestartPolicy {
    /** A worker up this long was stable: the next crash starts the back-off from the beginning again. */
    static final long STABLE_AFTER_MILLIS = 30_000;

    private final AppConfig.Restart settings;

    RestartPolicy(AppConfig.Restart settings) {
        this.settings = settings;
    }

    record Decision(boolean errored, long delayMillis) {
    }

    long minUptimeMillis() {
        return settings.minUptime().toMillis();
    }

    Decision afterExit(Instances.Slot slot, long aliveMillis) {
        slot.unstableRestarts = aliveMillis < settings.minUptime().toMillis() ? slot.unstableRestarts + 1 : 0;
        if (slot.unstableRestarts > settings.maxRestarts()) return new Decision(true, 0);
        if (aliveMillis >= STABLE_AFTER_MILLIS || slot.nextDelayMillis == 0) slot.nextDelayMillis = settings.delay().toMillis();
        long delay = slot.nextDelayMillis;
        slot.nextDelayMillis = Math.min((long) (delay * 1.5), settings.maxDelay().toMillis());
        return new Decision(false, delay);
    }
}
