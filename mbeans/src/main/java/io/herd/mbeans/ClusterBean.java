package io.herd.mbeans;

import io.herd.engine.ClusterInfo;
import io.herd.engine.OperationEvent;
import io.herd.engine.OperationResult;
import io.herd.engine.WorkerEvent;
import io.herd.engine.WorkerInfo;

import javax.management.MBeanNotificationInfo;
import javax.management.MalformedObjectNameException;
import javax.management.NotCompliantMBeanException;
import javax.management.Notification;
import javax.management.NotificationBroadcasterSupport;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The {@link ClusterMXBean} of one engine cluster, and its JMX notifications:
 * <ul>
 *   <li>{@value #WORKER_STATE}: a worker changed state (launching, online, spare, stopping, stopped);</li>
 *   <li>{@value #WORKER_RESTART}: a worker exited unexpectedly and will be restarted;</li>
 *   <li>{@value #WORKER_ERRORED}: an instance crashed too often in a row and is not restarted;</li>
 *   <li>{@value #OPERATION_STARTED}, {@value #OPERATION_FINISHED}, {@value #OPERATION_FAILED}:
 *       a scale, reload, restart or memory replacement began or ended; the user data of an ended
 *       one is its outcome, worker by worker.</li>
 * </ul>
 * The message says it all in words; the worker notifications' user data is a composite with
 * app, instance, pid, from, to and reason.
 */
public final class ClusterBean implements ClusterMXBean, AutoCloseable {
    public static final String WORKER_STATE = "herd.worker.state";
    public static final String WORKER_RESTART = "herd.worker.restart";
    public static final String WORKER_ERRORED = "herd.worker.errored";
    public static final String OPERATION_STARTED = "herd.operation.started";
    public static final String OPERATION_FINISHED = "herd.operation.finished";
    public static final String OPERATION_FAILED = "herd.operation.failed";

    private static final CompositeType WORKER_EVENT;

    static {
        try {
            String[] items = {"app", "instance", "pid", "from", "to", "reason"};
            WORKER_EVENT = new CompositeType("WorkerEvent", "A worker's change of state", items,
                    new String[] {"the app", "the instance index", "the worker's pid", "the state it left", "the state it is in", "why"},
                    new OpenType<?>[] {SimpleType.STRING, SimpleType.INTEGER, SimpleType.LONG, SimpleType.STRING, SimpleType.STRING, SimpleType.STRING});
        } catch (OpenDataException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final io.herd.engine.Cluster cluster;
    private final NotificationBroadcasterSupport notifications = new NotificationBroadcasterSupport(
            new MBeanNotificationInfo(new String[] {WORKER_STATE, WORKER_RESTART, WORKER_ERRORED}, Notification.class.getName(),
                    "A worker changed state: user data app, instance, pid, from, to, reason"),
            new MBeanNotificationInfo(new String[] {OPERATION_STARTED, OPERATION_FINISHED, OPERATION_FAILED}, Notification.class.getName(),
                    "An operation began or ended: an ended one carries its outcome, worker by worker, as user data"));
    private final AtomicLong sequence = new AtomicLong();
    private final Consumer<WorkerEvent> workerListener = this::workerChanged;
    private final Consumer<OperationEvent> operationListener = this::operationChanged;

    public ClusterBean(io.herd.engine.Cluster cluster) {
        this.cluster = cluster;
        cluster.addListener(workerListener);
        cluster.addOperationListener(operationListener);
    }

    /** Stops listening to the cluster (when the bean is unregistered). */
    @Override
    public void close() {
        cluster.removeListener(workerListener);
        cluster.removeOperationListener(operationListener);
    }

    private void workerChanged(WorkerEvent event) {
        String type = switch (event.to()) {
            case WAITING_RESTART -> WORKER_RESTART;
            case ERRORED -> WORKER_ERRORED;
            default -> WORKER_STATE;
        };
        Notification notification = new Notification(type, name(event.app()), sequence.incrementAndGet(), event.at().toEpochMilli(),
                event.app() + "#" + event.instance() + " (pid " + event.pid() + "): " + event.from().label() + " -> "
                        + event.to().label() + ": " + event.reason());
        try {
            notification.setUserData(new CompositeDataSupport(WORKER_EVENT, new String[] {"app", "instance", "pid", "from", "to", "reason"},
                    new Object[] {event.app(), event.instance(), event.pid(), event.from().label(), event.to().label(), event.reason()}));
        } catch (OpenDataException e) {
            throw new IllegalStateException(e);
        }
        notifications.sendNotification(notification);
    }

    private void operationChanged(OperationEvent event) {
        String type = switch (event.phase()) {
            case STARTED -> OPERATION_STARTED;
            case FINISHED -> OPERATION_FINISHED;
            case FAILED -> OPERATION_FAILED;
        };
        String outcome = event.result() != null ? event.result().toString() : event.error() != null ? event.operation() + ": " + event.error() : null;
        Notification notification = new Notification(type, name(event.app()), sequence.incrementAndGet(), event.at().toEpochMilli(),
                event.app() + ": " + event.operation() + " " + event.phase().name().toLowerCase(java.util.Locale.ROOT)
                        + (event.result() != null ? ": " + event.result().summary() : event.error() != null ? ": " + event.error() : ""));
        notification.setUserData(outcome);
        notifications.sendNotification(notification);
    }

    /** {@code herd:type=Cluster,name=<app>}; app names are letters, digits, '-' and '_', so never quoted. */
    public static ObjectName name(String app) {
        try {
            return new ObjectName("herd:type=Cluster,name=" + app);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("not an app name: " + app, e);
        }
    }

    /** This bean with its descriptions and notifications, ready to register. */
    public DescribedMXBean<ClusterMXBean> mbean() throws NotCompliantMBeanException {
        return new DescribedMXBean<>(this, ClusterMXBean.class, notifications);
    }

    @Override
    public String getApp() {
        return cluster.name();
    }

    @Override
    public int getInstances() {
        return cluster.info().instances();
    }

    @Override
    public int getOnline() {
        return cluster.info().online();
    }

    @Override
    public int getSpares() {
        return cluster.info().spares();
    }

    @Override
    public long getAccepted() {
        return cluster.info().accepted();
    }

    @Override
    public long getWaiting() {
        return cluster.info().waiting();
    }

    @Override
    public long getDropped() {
        return cluster.info().dropped();
    }

    @Override
    public long getRefused() {
        return cluster.info().refused();
    }

    @Override
    public String getRunningOperation() {
        String running = cluster.runningOperation();
        return running == null ? "" : running;
    }

    @Override
    public List<WorkerInfo> getWorkers() {
        return cluster.info().workers();
    }

    @Override
    public ClusterInfo getStats() {
        return cluster.info();
    }

    @Override
    public OperationResult scale(int instances) {
        return cluster.scale(instances);
    }

    @Override
    public OperationResult scaleBy(int delta) {
        return cluster.scaleBy(delta);
    }

    @Override
    public OperationResult reload() {
        return cluster.reload();
    }

    @Override
    public OperationResult gracefulReload() {
        return cluster.gracefulReload();
    }

    @Override
    public OperationResult restart() {
        return cluster.restart();
    }
}
