package io.herd.engine;

import java.util.List;

/**
 * One app as operators see it.
 *
 * @param app       the app's name
 * @param instances how many workers it is configured to run
 * @param online    workers in rotation now
 * @param accepted  connections the master accepted for it, in all
 * @param waiting   connections waiting now for a ready worker
 * @param dropped   connections closed unserved: the wait queue was full, or they waited too long
 * @param workers   each worker, by instance
 */
public record ClusterInfo(String app, int instances, int online, long accepted, long waiting, long dropped,
                          List<WorkerInfo> workers) {
    public ClusterInfo {
        workers = List.copyOf(workers);
    }
}
