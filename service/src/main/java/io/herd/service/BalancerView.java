package io.herd.service;

import io.herd.engine.Cluster;
import io.herd.engine.ClusterInfo;
import io.herd.engine.Master;

import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The facts a balancer's view of each app ({@link Availability}) is worked out from, gathered in
 * one place for the agent checks and the health endpoint to ask: whether the service or an app
 * is draining (set here by {@link HerdService} and {@link ServiceBean} as they stop), which apps
 * are stopped ({@link ServiceBean}'s), and the master's apps and their workers online. Any thread.
 */
final class BalancerView {
    private static final System.Logger LOG = System.getLogger(BalancerView.class.getName());
    private final Master master;
    private volatile boolean serviceDraining;
    private final Set<String> drainingApps = ConcurrentHashMap.newKeySet();
    /** The apps stopped with stopApp: told once the service's MBean exists. */
    private volatile Predicate<String> stopped = app -> false;

    BalancerView(Master master) {
        this.master = master;
    }

    /**
     * How {@code app} looks to a balancer now, or null when herd knows no app of that name (neither
     * running nor stopped). A running app's workers are counted on its event thread
     * ({@link Cluster#info()}): at most a few seconds' wait when it is very busy, and an app whose
     * event thread does not answer is {@code down}, as far as a balancer can tell.
     */
    Availability of(String app) {
        if (drainingApps.contains(app)) return Availability.DRAINING; // stopApp: running, then stopped, draining all along
        boolean isStopped = stopped.test(app);
        Cluster cluster = master.cluster(app);
        if (cluster == null && !isStopped) return null;
        if (serviceDraining || cluster == null) return Availability.of(serviceDraining, false, isStopped, 0, 0);
        try {
            ClusterInfo info = cluster.info();
            return Availability.of(false, false, isStopped, info.online(), info.instances());
        } catch (IllegalStateException e) {
            LOG.log(Level.WARNING, "app {0} looks down to balancers: {1}", app, e.getMessage());
            return Availability.NONE_ONLINE;
        }
    }

    /** The whole service is stopping: every app drains from now on. */
    void serviceDraining() {
        serviceDraining = true;
    }

    boolean isServiceDraining() {
        return serviceDraining;
    }

    /** {@code app} is stopping ({@code draining}), or no longer (stopped, or its stop failed). */
    void appDraining(String app, boolean draining) {
        if (draining) drainingApps.add(app);
        else drainingApps.remove(app);
    }

    /** Where the stopped apps are known: {@link ServiceBean}. */
    void stoppedAppsFrom(Predicate<String> isStopped) {
        this.stopped = isStopped;
    }
}
