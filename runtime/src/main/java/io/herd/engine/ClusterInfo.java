package io.herd.engine;

import java.util.List;

/**
 * One app as operators see it.
 *
 * @param app       the app's name
 * @param dispatch  handoff (workers get the sockets) or proxy (the master relays the bytes)
 * @param instances how many workers it is configured to run
 * @param online    workers in rotation now
 * @param spares    warm spares ready now, out of rotation ({@code spares}); not counted in {@code online}
 * @param accepted  connections the master accepted for it, in all
 * @param waiting   connections waiting now for a ready worker
 * @param dropped   connections closed unserved: the wait queue was full, or they waited too long
 * @param refused   proxy dispatch: connections closed at once, unserved, because proxy.max.connections were open
 * @param open      connections open now on all its workers
 * @param cpuPercent its workers' CPU use together, in percent of one core
 * @param rssBytes  its workers' resident memory together, in bytes
 * @param workers   each worker, by instance
 * @param operations each kind of operation (scale, reload, ...): how often it ended, how, and how long it took, since the app started
 */
public record ClusterInfo(String app, String dispatch, int instances, int online, int spares, long accepted, long waiting, long dropped, long refused,
                          long open, double cpuPercent, long rssBytes, List<WorkerInfo> workers,
                          List<OperationStats> operations) {
    public ClusterInfo {
        workers = List.copyOf(workers);
        operations = List.copyOf(operations);
    }
}
