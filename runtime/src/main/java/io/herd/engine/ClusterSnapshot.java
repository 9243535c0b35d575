package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.HerdConfig;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What operators see of a cluster ({@link ClusterInfo}), made from its event-thread state: only
 * its event thread may call it, as only it reads those fields safely.
 */
final class ClusterSnapshot {
    private ClusterSnapshot() {
    }

    /** The live workers, then the last worker of each instance that has none live, by instance. */
    static ClusterInfo of(AppConfig config, Map<Integer, Cluster.Slot> slots, Collection<Worker> live, Dispatcher dispatcher) {
        List<WorkerInfo> workers = new ArrayList<>();
        for (Worker worker : live) {
            Cluster.Slot slot = slots.get(worker.instance);
            workers.add(new WorkerInfo(worker.instance, worker.pid(), worker.state.label(), worker.uptimeMillis(),
                    slot == null ? 0 : slot.restarts, worker.handedOff(), worker.openConnections(), worker.bytesIn(), worker.bytesOut(), worker.exitCode,
                    worker.cpuPercent, worker.rssBytes));
        }
        for (Cluster.Slot slot : slots.values()) {
            Worker last = slot.worker;
            if (last != null && !live.contains(last)) {
                workers.add(new WorkerInfo(slot.instance, last.pid(), last.state.label(), 0, slot.restarts,
                        last.handedOff(), 0, last.bytesIn(), last.bytesOut(), last.exitCode, 0, 0));
            }
        }
        workers.sort(Comparator.comparingInt(WorkerInfo::instance));
        long open = 0, rss = 0;
        double cpu = 0;
        for (Worker worker : live) {
            open += worker.openConnections();
            rss += worker.rssBytes;
            cpu += worker.cpuPercent;
        }
        return new ClusterInfo(config.name(), HerdConfig.keyOf(config.dispatch()), slots.size(), dispatcher.online(), dispatcher.accepted(),
                dispatcher.waiting(), dispatcher.dropped(), dispatcher.refused(), open, cpu, rss, workers);
    }
}
