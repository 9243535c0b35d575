package io.herd.mbeans;

import io.herd.engine.ClusterInfo;
import io.herd.engine.OperationResult;
import io.herd.engine.WorkerInfo;

import javax.management.MalformedObjectNameException;
import javax.management.NotCompliantMBeanException;
import javax.management.ObjectName;
import java.util.List;

/** The {@link ClusterMXBean} of one engine cluster. */
public final class ClusterBean implements ClusterMXBean {
    private final io.herd.engine.Cluster cluster;

    public ClusterBean(io.herd.engine.Cluster cluster) {
        this.cluster = cluster;
    }

    /** {@code herd:type=Cluster,name=<app>}; app names are letters, digits, '-' and '_', so never quoted. */
    public static ObjectName name(String app) {
        try {
            return new ObjectName("herd:type=Cluster,name=" + app);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("not an app name: " + app, e);
        }
    }

    /** This bean with its descriptions, ready to register. */
    public DescribedMXBean<ClusterMXBean> mbean() throws NotCompliantMBeanException {
        return new DescribedMXBean<>(this, ClusterMXBean.class);
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
