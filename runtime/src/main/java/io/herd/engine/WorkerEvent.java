package io.herd.engine;

import java.time.Instant;

/**
 * A worker moved from one state to another; published to a cluster's listeners (the MBean's
 * notifications, say) on the cluster's event thread, in order.
 *
 * @param app      the app
 * @param instance the worker's instance index
 * @param pid      the worker's process id
 * @param from     the state it left
 * @param to       the state it is in now
 * @param reason   why, in a few words ("ready after 412 ms", "exited with signal 9 (exit code 137)")
 * @param at       when
 */
public record WorkerEvent(String app, int instance, long pid, WorkerState from, WorkerState to, String reason, Instant at) {
}
