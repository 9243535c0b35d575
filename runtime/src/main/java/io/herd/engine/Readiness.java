package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.internal.PortOwnership;

import java.lang.System.Logger.Level;

/**
 * A launched worker until it is ready, on its cluster's event thread: its SDK's ready() puts it
 * online and in rotation — in proxy dispatch only once {@link PortWatch} finds its port its own;
 * a spare's worker becomes a spare instead, out of rotation — and a worker not ready within
 * ready.timeout is killed.
 */
final class Readiness {
    /** Logs as the cluster it was split from, so operators' logging configuration still finds these lines. */
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());

    private final Cluster cluster;
    private final AppConfig config;

    Readiness(Cluster cluster) {
        this.cluster = cluster;
        this.config = cluster.config();
    }

    /** A worker was launched: it has ready.timeout to become ready; in proxy dispatch its port is probed meanwhile. */
    void launched(Worker worker) {
        cluster.later(() -> onReadyTimeout(worker), config.readyTimeout().toMillis());
        if (worker.proxyAddress() != null) cluster.portWatch().launched(worker);
    }

    /** The worker called the SDK's ready(). In proxy dispatch, its port must be its own first. */
    void onReady(Worker worker) {
        if (worker.state != WorkerState.LAUNCHING) return;
        if (config.proxied()) cluster.portWatch().readyCalled(worker);
        else becomeOnline(worker);
    }

    /**
     * The worker is ready (in proxy dispatch, once its port is its own): online and in rotation,
     * or, holding a spare's index, a spare out of rotation.
     */
    void becomeOnline(Worker worker) {
        if (cluster.isStopping()) {
            cluster.move(worker, WorkerState.STOPPING, "ready while the app is stopping");
            worker.requestShutdown();
            return;
        }
        worker.onlineNanos = System.nanoTime();
        if (cluster.instances().holdsSpare(worker)) {
            cluster.move(worker, WorkerState.SPARE, "ready after " + worker.aliveMillis() + " ms; a spare, out of rotation");
        } else {
            cluster.move(worker, WorkerState.ONLINE, "ready after " + worker.aliveMillis() + " ms");
            cluster.updateRotation();
        }
        worker.online.complete(null);
    }

    private void onReadyTimeout(Worker worker) {
        if (worker.state != WorkerState.LAUNCHING) return;
        PortOwnership seen = worker.lastPortCheck;
        String missed;
        if (!config.proxied()) {
            if (worker.saidHello()) missed = "did not call ready()";
            else if (worker.connectedToIpc()) missed = "opened its IPC channel but never said HELLO";
            // Most likely not a herd-sdk app at all, run in handoff dispatch by mistake.
            else missed = "never opened its IPC channel (an app without herd-sdk needs dispatch = proxy)";
        } else if (seen == null || seen.verdict() == PortOwnership.Verdict.NOBODY_LISTENS) {
            missed = "did not open its port " + worker.proxyAddress().getPort() + " (nor call ready())";
        } else missed = "was not seen to hold its port: " + seen.describe() + ",";
        String why = missed + " within " + config.readyTimeout().toMillis() + " ms";
        LOG.log(Level.WARNING, "{0} {1}: killing it", worker.name(), why);
        worker.online.completeExceptionally(new IllegalStateException(why));
        worker.process().destroyForcibly();
    }
}
