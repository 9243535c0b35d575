package io.herd.engine;

import io.herd.config.AppConfig;

import java.lang.System.Logger.Level;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Looks at an app's workers every sampling period (about 2 s), on its event thread: reads each
 * one's CPU and memory from /proc, pings it and kills it if it stopped answering, in proxy
 * dispatch has its port looked at ({@link PortWatch#sample}), and, when a memory check is due,
 * has the worker furthest over max.memory replaced.
 */
final class HealthChecks {
    /** Logs as the cluster it was split from, so operators' logging configuration still finds these lines. */
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());
    /** How often, roughly, worker CPU and memory are read from /proc. */
    private static final long SAMPLE_MILLIS = 2_000;
    private static final int MAX_MEMORY_BACKOFF = 16;

    private final Cluster cluster;
    private final AppConfig config;

    // Event-thread state
    private long nextMemoryCheckNanos;
    /** Multiplies memory.check.interval after replacements that failed, so a limit below what a fresh JVM needs does not launch JVMs forever. */
    private int memoryBackoff = 1;

    HealthChecks(Cluster cluster) {
        this.cluster = cluster;
        this.config = cluster.config();
    }

    /** Schedules the first sample and the first memory check. */
    void start() {
        cluster.post(() -> {
            nextMemoryCheckNanos = System.nanoTime() + jittered(config.memoryCheckInterval().toMillis()) * 1_000_000;
            cluster.later(this::sample, jittered(SAMPLE_MILLIS));
        });
    }

    /**
     * Samples every worker's CPU and memory, pings it (and kills it if it stopped answering), in
     * proxy dispatch has its port looked at, and replaces one over max.memory when a check is due.
     */
    private void sample() {
        if (cluster.isStopping()) return;
        List<Worker> live = cluster.liveWorkers();
        for (Worker worker : live) {
            worker.sample();
            long unanswered = worker.unansweredPingMillis();
            if (unanswered >= config.pingTimeout().toMillis()) killUnresponsive(worker, unanswered);
            else worker.ping();
        }
        if (config.proxied()) cluster.portWatch().sample(live);
        long now = System.nanoTime();
        if (config.maxMemoryBytes() > 0 && now - nextMemoryCheckNanos >= 0) {
            nextMemoryCheckNanos = now + jittered(config.memoryCheckInterval().toMillis() * memoryBackoff) * 1_000_000;
            live.stream().filter(worker -> worker.state == WorkerState.ONLINE && worker.rssBytes > config.maxMemoryBytes())
                    .max(Comparator.comparingLong(worker -> worker.rssBytes))
                    .ifPresent(this::replaceOverMemory);
        }
        cluster.later(this::sample, jittered(SAMPLE_MILLIS));
    }

    /**
     * Has the worker replaced, off the event thread: a replacement waits for JVMs to start and stop.
     * Its memory is read here, on the event thread that sampled it, and handed over.
     */
    private void replaceOverMemory(Worker worker) {
        long rssBytes = worker.rssBytes;
        Thread.ofVirtual().name("herd-" + cluster.name() + "-memory")
                .start(() -> cluster.operations().replaceOverMemory(worker, rssBytes, this::memoryReplacementEnded));
    }

    /**
     * A worker whose SDK has not answered a ping for ping.timeout is unresponsive — stopped,
     * paused, its JVM stuck — and the connections sent to it would wait as long as it does. It is
     * killed: once it is dead they go to other workers (the master still holds each one), and it
     * is restarted as after a crash. A busy app is not: the SDK's reader answers whatever the app
     * is doing.
     */
    private void killUnresponsive(Worker worker, long unansweredMillis) {
        if (!worker.process().isAlive()) return;
        LOG.log(Level.WARNING, "{0} has not answered a ping for {1} ms: unresponsive; killing it (SIGKILL), "
                + "its {2} unaccepted connections go to other workers", worker.name(), unansweredMillis, worker.unacknowledged());
        worker.process().destroyForcibly();
    }

    /** A memory replacement ended (event thread): after a failure the next check waits twice as long (up to 16 intervals). */
    private void memoryReplacementEnded(boolean replaced) {
        memoryBackoff = replaced ? 1 : Math.min(MAX_MEMORY_BACKOFF, memoryBackoff * 2);
    }

    /** {@code millis} ± 10%, so periodic work does not beat in step across apps and workers. */
    private static long jittered(long millis) {
        long spread = Math.max(1, millis / 10);
        return millis - spread + ThreadLocalRandom.current().nextLong(2 * spread + 1);
    }
}
