package io.herd.mbeans;

import io.herd.engine.ClusterInfo;
import io.herd.engine.OperationResult;
import io.herd.engine.WorkerInfo;

import java.util.List;

/**
 * One clustered app, as {@code herd:type=Cluster,name=<app>}: its live figures, and the
 * operations that change it. Every operation blocks until it is done and says, worker by worker,
 * what happened; only one runs at a time per app.
 */
@Description("A herd cluster: one app's worker JVMs behind its port. Live stats, and scale/reload/restart.")
public interface ClusterMXBean {

    @Description("The app's name, as in its app.<name>.* configuration keys.")
    String getApp();

    @Description("How many workers the app is set to run now (its instances, after any scale).")
    int getInstances();

    @Description("Workers in rotation now: online, taking new connections.")
    int getOnline();

    @Description("Warm spares ready now: started and ready, out of rotation (app.<name>.spares); not counted in Online.")
    int getSpares();

    @Description("Connections the master accepted for this app since the service started.")
    long getAccepted();

    @Description("Connections waiting now for a ready worker (none is online, or all are full).")
    long getWaiting();

    @Description("Connections closed unserved since start: the wait queue was full, or they waited past queue.timeout.")
    long getDropped();

    @Description("Proxy dispatch: connections refused since start, closed at once unserved, because proxy.max.connections were open.")
    long getRefused();

    @Description("The operation in progress (e.g. 'reload', 'scale 4'), or empty when none is.")
    String getRunningOperation();

    @Description("One row per worker: instance, pid, state, uptime (ms), restarts, connections handed off (or relayed) and open now, "
            + "bytes relayed in and out (proxy dispatch only), last exit code, CPU % and resident memory.")
    List<WorkerInfo> getWorkers();

    @Description("The app's figures in one read: dispatch, instances, online, spares, accepted, waiting, dropped, refused, and the workers.")
    ClusterInfo getStats();

    @Description("Sets the number of workers: up takes ready spares first (online at once), then starts new ones (lowest free "
            + "instance indices) and waits until they are online, and starts new spares for those taken; down drains the highest "
            + "instances (out of rotation first, then a graceful stop), the spares stay. Refused outside 0..max.instances.")
    OperationResult scale(@Description(value = "The number of workers wanted, 0 to max.instances.", name = "instances") int instances);

    @Description("Scales relative to the current count: +3 adds three workers, -1 removes one.")
    OperationResult scaleBy(@Description(value = "How many workers to add (positive) or remove (negative).", name = "delta") int delta);

    @Description("Zero-downtime rolling reload: up to reload.surge replacements start at once; as each comes online, the old worker it "
            + "replaces leaves rotation and gets SIGTERM (SIGKILL after kill.timeout; in proxy dispatch, after its connections end or "
            + "kill.timeout passes), and the next replacement starts. Stops at the first replacement that fails; the old workers not yet "
            + "replaced keep serving. Then the spares are replaced, each replacement ready before its old spare stops. "
            + "The result says how long it took (durationMillis).")
    OperationResult reload();

    @Description("Like reload, but each old worker is asked over IPC to finish its requests in flight, close idle connections and exit; "
            + "killed only after kill.timeout.")
    OperationResult gracefulReload();

    @Description("Stops every worker, then starts them all again (not zero-downtime, like pm2 restart). Also revives errored instances.")
    OperationResult restart();
}
