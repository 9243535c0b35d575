package io.herd.engine;

import io.herd.config.AppConfig;

/**
 * When a worker that exited unexpectedly is started again (see {@link AppConfig.Restart}).
 *
 * <p>A worker that had been online at least {@code min.uptime} was stable: it is restarted after
 * {@code restart.delay} (by default 0: at once, as PM2's {@code restart_delay}), always, however
 * often it happens — a healthy app whose workers are killed now and then never waits longer.
 * Only consecutive unstable exits (online less than {@code min.uptime}, or never online at all)
 * back off: the first waits {@code restart.backoff} (or {@code restart.delay}, if longer), each
 * further one ×1.5 longer up to {@code restart.delay.max}, and more than {@code max.restarts} of
 * them in a row end in errored. A stable exit resets both.
 *
 * <p>Stability is measured from when the worker came online, not from its launch: a JVM that
 * spent its life starting up (a slow start, a ready timeout) served nobody.
 */
final class RestartPolicy {
    /** What {@link #onlineMillis} says of a worker that never came online (or of no worker at all). */
    static final long NEVER_ONLINE = -1;
    private static final double BACK_OFF = 1.5;

    private final AppConfig.Restart settings;

    RestartPolicy(AppConfig.Restart settings) {
        this.settings = settings;
    }

    /**
     * What to do about an exit.
     *
     * @param errored     true when the instance is in a crash loop and is not restarted
     * @param delayMillis how long to wait before the restart
     */
    record Decision(boolean errored, long delayMillis) {
    }

    long minUptimeMillis() {
        return settings.minUptime().toMillis();
    }

    /** How long an exited worker had been online, or {@link #NEVER_ONLINE} (event thread). */
    static long onlineMillis(Worker worker) {
        return worker == null || worker.onlineNanos == 0 ? NEVER_ONLINE : worker.uptimeMillis();
    }

    /**
     * Decides the restart of the slot whose worker exited, and keeps the slot's back-off.
     *
     * @param onlineMillis how long the worker had been online; {@link #NEVER_ONLINE} when it never was
     */
    Decision afterExit(Instances.Slot slot, long onlineMillis) {
        if (onlineMillis != NEVER_ONLINE && onlineMillis >= minUptimeMillis()) {
            slot.unstableRestarts = 0;
            slot.nextDelayMillis = 0;
            return new Decision(false, settings.delay().toMillis());
        }
        slot.unstableRestarts++;
        if (slot.unstableRestarts > settings.maxRestarts()) return new Decision(true, 0);
        long delay = slot.nextDelayMillis == 0 ? firstUnstableDelayMillis() : slot.nextDelayMillis;
        slot.nextDelayMillis = Math.min((long) (delay * BACK_OFF), settings.maxDelay().toMillis());
        return new Decision(false, delay);
    }

    /** The back-off's base: never shorter than a stable exit's delay, and never 0, so that ×1.5 grows it. */
    private long firstUnstableDelayMillis() {
        return Math.max(settings.delay().toMillis(), settings.backoff().toMillis());
    }
}
