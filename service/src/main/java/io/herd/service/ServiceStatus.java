package io.herd.service;

import io.herd.engine.Cluster;
import io.herd.engine.ClusterInfo;
import io.herd.engine.Master;
import io.herd.engine.OperationEvent;
import io.herd.engine.WorkerEvent;
import io.herd.engine.WorkerInfo;
import io.herd.engine.WorkerState;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The service's state in one line, as systemd shows it ({@code systemctl status herd}): each app's
 * workers online out of its instances, what the missing ones are doing, and the operation in
 * progress with the workers it brought online so far:
 * {@code hello 2/2 online, gracefulReload 1/2; api 1/2 online: 1 launching}.
 *
 * <p>Hears each app's worker and operation events (on their threads) to follow operations; reads
 * the rest from each app's snapshot when {@link #now} is asked.
 */
final class ServiceStatus {
    /** What a line says, and whether it says every app has all its instances online. */
    record Line(String text, boolean allOnline) {
    }

    /** Operations that replace every worker: their progress is shown out of the app's instances. */
    private static final List<String> REPLACING = List.of("reload", "gracefulReload", "restart");

    private final Master master;
    /** Per app, the operation in progress and the workers that came online since it started. */
    private final Map<String, Progress> operations = new ConcurrentHashMap<>();

    private record Progress(String operation, AtomicInteger online) {
    }

    ServiceStatus(Master master) {
        this.master = master;
    }

    /** Hears an app's operations (on the operation's thread). */
    void onOperation(OperationEvent event) {
        if (event.phase() == OperationEvent.Phase.STARTED) operations.put(event.app(), new Progress(event.operation(), new AtomicInteger()));
        else operations.remove(event.app());
    }

    /** Hears an app's workers (on its event thread). */
    void onWorker(WorkerEvent event) {
        Progress progress = operations.get(event.app());
        if (progress != null && event.to() == WorkerState.ONLINE) progress.online().incrementAndGet();
    }

    /** The line now; asks each app for a snapshot, so it may wait (bounded) for their event threads. */
    Line now() {
        List<String> apps = new ArrayList<>();
        boolean allOnline = true;
        for (Cluster cluster : master.clusters()) {
            ClusterInfo info;
            try {
                info = cluster.info();
            } catch (IllegalStateException noAnswer) {
                apps.add(cluster.name() + " not answering");
                allOnline = false;
                continue;
            }
            allOnline &= info.online() >= info.instances();
            apps.add(describe(info, operations.get(cluster.name())));
        }
        return new Line(apps.isEmpty() ? "no app" : String.join("; ", apps), allOnline);
    }

    private static String describe(ClusterInfo info, Progress operation) {
        StringBuilder text = new StringBuilder(info.app()).append(' ').append(info.online()).append('/').append(info.instances()).append(" online");
        if (info.online() < info.instances()) {
            // What the workers that are not online are doing: launching, waiting restart, errored...
            Map<String, Integer> others = new TreeMap<>();
            for (WorkerInfo worker : info.workers()) {
                String state = worker.state();
                if (!state.equals(WorkerState.ONLINE.label()) && !state.equals(WorkerState.SPARE.label())) others.merge(state, 1, Integer::sum);
            }
            List<String> counts = new ArrayList<>();
            others.forEach((state, count) -> counts.add(count + " " + state));
            if (!counts.isEmpty()) text.append(": ").append(String.join(", ", counts));
        }
        if (operation != null) {
            text.append(", ").append(operation.operation());
            if (REPLACING.contains(operation.operation())) text.append(' ').append(Math.min(operation.online().get(), info.instances())).append('/').append(info.instances());
        }
        return text.toString();
    }
}
