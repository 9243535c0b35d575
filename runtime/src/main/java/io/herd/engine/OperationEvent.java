package io.herd.engine;

import java.time.Instant;

/**
 * An operation (scale, reload, restart, a memory replacement) started or ended; published to a
 * cluster's operation listeners on the thread that runs the operation.
 *
 * @param app       the app
 * @param operation what, e.g. "reload" or "scale 4"
 * @param phase     started, finished (every step succeeded) or failed
 * @param result    worker by worker, once it ended; null when started, or when it threw
 * @param error     why it threw, or null
 * @param at        when
 */
public record OperationEvent(String app, String operation, Phase phase, OperationResult result, String error, Instant at) {
    public enum Phase { STARTED, FINISHED, FAILED }
}
