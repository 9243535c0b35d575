package io.herd.service;

import io.herd.config.Dispatch;
import io.herd.config.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.ClusterInfo;
import io.herd.engine.Master;
import io.herd.engine.OperationStats;
import io.herd.engine.WorkerInfo;
import io.herd.engine.WorkerState;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * herd's own metrics for Prometheus, per app and per worker, from one snapshot of each app
 * ({@link Cluster#info}, taken on its event thread) per scrape: nothing is counted for them on
 * the connections' path that the engine does not count already.
 *
 * <p>Per worker, the series are labelled by app and instance, not pid: a restarted instance's
 * counters start again from zero, which Prometheus reads as a counter reset. While an instance
 * has two workers (a reload's replacement starting while the old one serves), the one serving
 * stands for it. The app's own totals (accepted, dropped, operations) never go down while the
 * service runs: they are counted by the app, not summed over its workers.
 */
final class HerdMetrics implements MultiCollector {
    private static final System.Logger LOG = System.getLogger(HerdMetrics.class.getName());
    /** Which worker stands for an instance that has two: the first state here that one of them is in. */
    private static final List<WorkerState> STANDS_FOR_ITS_INSTANCE = List.of(WorkerState.ONLINE, WorkerState.SPARE,
            WorkerState.LAUNCHING, WorkerState.STOPPING, WorkerState.WAITING_RESTART, WorkerState.ERRORED, WorkerState.STOPPED);

    private final Master master;

    HerdMetrics(Master master) {
        this.master = master;
    }

    @Override
    public MetricSnapshots collect() {
        List<ClusterInfo> apps = new ArrayList<>();
        for (Cluster cluster : master.clusters()) {
            try {
                apps.add(cluster.info());
            } catch (IllegalStateException noAnswer) {
                // its event thread did not answer in time: the scrape goes on with the others, and says so in the log
                LOG.log(Level.WARNING, "metrics: app {0} left out of this scrape: {1}", cluster.name(), noAnswer.getMessage());
            }
        }
        return of(apps);
    }

    /** The metrics of these apps' snapshots. */
    static MetricSnapshots of(List<ClusterInfo> apps) {
        Families families = new Families();
        for (ClusterInfo app : apps) {
            appMetrics(app, families);
            for (WorkerInfo worker : standingForTheirInstances(app.workers())) workerMetrics(app, worker, families);
        }
        return families.build();
    }

    private static void appMetrics(ClusterInfo app, Families families) {
        Labels labels = Labels.of("app", app.app());
        families.instances.dataPoint(gauge(labels, app.instances()));
        Map<WorkerState, Integer> byState = new EnumMap<>(WorkerState.class);
        for (WorkerState state : WorkerState.values()) byState.put(state, 0); // every state, so that no series comes and goes
        for (WorkerInfo worker : app.workers()) byState.merge(state(worker), 1, Integer::sum);
        byState.forEach((state, count) -> families.workers.dataPoint(gauge(labels.add("state", label(state)), count)));
        families.accepted.dataPoint(counter(labels, app.accepted()));
        families.dropped.dataPoint(counter(labels, app.dropped()));
        families.refused.dataPoint(counter(labels, app.refused()));
        families.waiting.dataPoint(gauge(labels, app.waiting()));
        for (OperationStats operation : app.operations()) {
            Labels ofOperation = labels.add("operation", operation.operation());
            families.operations.dataPoint(counter(ofOperation.add("result", "succeeded"), operation.succeeded()));
            families.operations.dataPoint(counter(ofOperation.add("result", "failed"), operation.failed()));
            families.operationDuration.dataPoint(histogram(ofOperation, operation));
        }
    }

    private static void workerMetrics(ClusterInfo app, WorkerInfo worker, Families families) {
        Labels labels = Labels.of("app", app.app(), "instance", Integer.toString(worker.instance()));
        WorkerState state = state(worker);
        families.up.dataPoint(gauge(labels, state == WorkerState.ONLINE || state == WorkerState.SPARE ? 1 : 0));
        families.restarts.dataPoint(counter(labels, worker.restarts()));
        families.memory.dataPoint(gauge(labels, worker.rssBytes()));
        families.cpu.dataPoint(counter(labels, worker.cpuSeconds()));
        families.open.dataPoint(gauge(labels, worker.open()));
        families.handed.dataPoint(counter(labels, worker.handedOff()));
        if (app.dispatch().equals(HerdConfig.keyOf(Dispatch.PROXY))) {
            families.bytes.dataPoint(counter(labels.add("direction", "in"), worker.bytesIn()));
            families.bytes.dataPoint(counter(labels.add("direction", "out"), worker.bytesOut()));
        }
        if (worker.startMillis() > 0) families.start.dataPoint(gauge(labels, worker.startMillis() / 1000.0));
    }

    /** One worker per instance: the live one that serves, when the instance has two. */
    private static List<WorkerInfo> standingForTheirInstances(List<WorkerInfo> workers) {
        Map<Integer, WorkerInfo> byInstance = new TreeMap<>();
        for (WorkerInfo worker : workers) {
            byInstance.merge(worker.instance(), worker, (one, other) ->
                    STANDS_FOR_ITS_INSTANCE.indexOf(state(other)) < STANDS_FOR_ITS_INSTANCE.indexOf(state(one)) ? other : one);
        }
        return List.copyOf(byInstance.values());
    }

    private static WorkerState state(WorkerInfo worker) {
        for (WorkerState state : WorkerState.values()) {
            if (state.label().equals(worker.state())) return state;
        }
        throw new IllegalStateException("worker #" + worker.instance() + " of no known state: " + worker.state());
    }

    /** A state as a label value: {@code waiting_restart}, no space, so that PromQL needs no quoting beyond the usual. */
    private static String label(WorkerState state) {
        return state.name().toLowerCase(Locale.ROOT);
    }

    private static GaugeDataPointSnapshot gauge(Labels labels, double value) {
        return GaugeDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    private static CounterDataPointSnapshot counter(Labels labels, double value) {
        return CounterDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    /** The model counts each bucket's own observations; {@link OperationStats} counts them cumulatively, as the text format does. */
    private static HistogramDataPointSnapshot histogram(Labels labels, OperationStats operation) {
        List<Double> bounds = OperationStats.BUCKET_SECONDS;
        double[] upperBounds = new double[bounds.size() + 1];
        long[] counts = new long[bounds.size() + 1];
        long below = 0;
        for (int i = 0; i < bounds.size(); i++) {
            upperBounds[i] = bounds.get(i);
            counts[i] = operation.bucketCounts().get(i) - below;
            below = operation.bucketCounts().get(i);
        }
        upperBounds[bounds.size()] = Double.POSITIVE_INFINITY;
        counts[bounds.size()] = operation.count() - below;
        return HistogramDataPointSnapshot.builder().labels(labels).sum(operation.totalSeconds())
                .classicHistogramBuckets(ClassicHistogramBuckets.of(upperBounds, counts)).build();
    }

    /** Every family herd exposes, with the help text that says what it measures; counters are named without _total, which the format adds. */
    private static final class Families {
        final GaugeSnapshot.Builder instances = gauge("herd_app_instances", "How many workers the app is configured to run (its instances, spares not counted).");
        final GaugeSnapshot.Builder workers = gauge("herd_workers",
                "The app's workers in each state (launching, online, spare, stopping, stopped, errored, waiting_restart), as herd list shows them.");
        final CounterSnapshot.Builder accepted = counter("herd_connections_accepted", "Connections the master accepted for the app.");
        final CounterSnapshot.Builder dropped = counter("herd_connections_dropped",
                "Connections closed unserved because the app's wait queue was full or no worker was ready within queue.timeout.");
        final CounterSnapshot.Builder refused = counter("herd_connections_refused",
                "Proxy dispatch: connections closed at once because proxy.max.connections were open.");
        final GaugeSnapshot.Builder waiting = gauge("herd_connections_waiting", "Connections waiting now for a ready worker of the app.");
        final CounterSnapshot.Builder operations = counter("herd_operations",
                "The app's operations (scale, reload, gracefulReload, restart, and memoryRestart or healthRestart: a worker replaced over max.memory or failing its health checks) that ended, by result: succeeded, or failed.");
        final HistogramSnapshot.Builder operationDuration = HistogramSnapshot.builder().name("herd_operation_duration_seconds")
                .help("How long the app's operations took, from their start to their end, in seconds.");
        final GaugeSnapshot.Builder up = gauge("herd_worker_up", "1 while the instance's worker is ready (online, or a warm spare), else 0.");
        final CounterSnapshot.Builder restarts = counter("herd_worker_restarts",
                "Times the instance's worker was restarted after it exited unexpectedly.");
        final GaugeSnapshot.Builder memory = gauge("herd_worker_resident_memory_bytes", "The worker JVM's resident memory, in bytes, sampled every 2 s.");
        final CounterSnapshot.Builder cpu = counter("herd_worker_cpu_seconds",
                "CPU time the worker JVM has used (user and system), in seconds, sampled every 2 s; starts again with each new worker of the instance.");
        final GaugeSnapshot.Builder open = gauge("herd_worker_connections_open", "Connections handed (or relayed) to the worker that it has not closed yet.");
        final CounterSnapshot.Builder handed = counter("herd_worker_connections_handed",
                "Connections the master handed (or, in proxy dispatch, relayed) to the worker; starts again with each new worker of the instance.");
        final CounterSnapshot.Builder bytes = counter("herd_worker_bytes",
                "Proxy dispatch: bytes the master relayed to the worker from its clients (direction in) and from it to them (out).");
        final GaugeSnapshot.Builder start = gauge("herd_worker_start_seconds",
                "How long the worker's last start took, from its launch to its ready(), in seconds.");

        MetricSnapshots build() {
            return MetricSnapshots.of(instances.build(), workers.build(), accepted.build(), dropped.build(), refused.build(), waiting.build(),
                    operations.build(), operationDuration.build(), up.build(), restarts.build(), memory.build(), cpu.build(), open.build(),
                    handed.build(), bytes.build(), start.build());
        }

        private static GaugeSnapshot.Builder gauge(String name, String help) {
            return GaugeSnapshot.builder().name(name).help(help);
        }

        private static CounterSnapshot.Builder counter(String name, String help) {
            return CounterSnapshot.builder().name(name).help(help);
        }
    }
}
