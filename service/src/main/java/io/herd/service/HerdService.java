package io.herd.service;

import io.herd.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.Master;
import io.herd.lifecycle.Container;
import io.herd.mbeans.ClusterBean;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;

import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.stream.Collectors;

/**
 * The herd service: the master and, in later parts, its management endpoints, started in
 * order and stopped in reverse. Hosted by {@link Main} in the foreground (and by the jsvc daemon).
 */
public final class HerdService extends Container {
    private static final System.Logger LOG = System.getLogger(HerdService.class.getName());

    private final HerdConfig config;
    private final Master master;
    private final JolokiaEndpoint jolokia;
    private final JmxConnector jmx;
    private final java.util.List<ClusterBean> beans = new java.util.ArrayList<>();

    public HerdService(HerdConfig config) {
        this.config = config;
        this.master = addPart(new Master(config, new Log4jWorkerOutput()));
        // After the master: stopped before it, so no operation arrives while the workers drain.
        this.jolokia = addPart(new JolokiaEndpoint(config.jolokia()));
        this.jmx = config.jmx() == null ? null : addPart(new JmxConnector(config.jmx()));
    }

    /** Binds every listening socket: the step that may need root. */
    public void bind() throws io.herd.ConfigException {
        master.bind();
    }

    @Override
    protected void doStart() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (Cluster cluster : master.clusters()) {
            ClusterBean bean = new ClusterBean(cluster);
            beans.add(bean);
            server.registerMBean(bean.mbean(), ClusterBean.name(cluster.name()));
        }
        super.doStart();
        for (Cluster cluster : master.clusters()) {
            LOG.log(Level.INFO, "app {0}: {1} workers on {2}", cluster.name(), cluster.config().instances(),
                    master.addresses(cluster.name()).stream().map(HerdService::format).collect(Collectors.joining(", ")));
        }
    }

    @Override
    protected void doStop() throws Exception {
        LOG.log(Level.INFO, "stopping: no new connections; workers have {0} ms to finish", Long.toString(config.stopTimeout().toMillis()));
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (Cluster cluster : master.clusters()) {
            ObjectName name = ClusterBean.name(cluster.name());
            if (server.isRegistered(name)) server.unregisterMBean(name);
        }
        beans.forEach(ClusterBean::close);
        beans.clear();
        super.doStop();
        LOG.log(Level.INFO, "stopped");
    }

    public Master master() {
        return master;
    }

    /** JConsole's connection string for the RMI connector, or null when it is off. */
    public String jmxUrl() {
        return jmx == null ? null : jmx.url();
    }

    /** Where Jolokia listens (once started). */
    public String jolokiaUrl() {
        return jolokia.url();
    }

    private static String format(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
