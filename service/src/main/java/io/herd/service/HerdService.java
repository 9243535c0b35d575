package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.FatalErrorHandler;
import io.herd.engine.Master;
import io.herd.internal.SystemdNotifier;
import io.herd.lifecycle.Container;
import io.herd.mbeans.ClusterBean;
import io.herd.mbeans.DescribedMXBean;
import io.herd.mbeans.ServiceMXBean;

import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.NotificationBroadcasterSupport;
import javax.management.ObjectName;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
    /** What systemd hears of the service (Type=notify); nothing without NOTIFY_SOCKET. */
    private final SystemdNotifications systemd;
    /** The management users, for Jolokia and JMX: known once {@link #prepare} has read their passwords. */
    private final Users users;
    private final Map<String, ClusterBean> beans = new ConcurrentHashMap<>();
    private static final ObjectName SERVICE_NAME = serviceName();

    public HerdService(HerdConfig config) {
        this(config, null);
    }

    /** @param onFatalError what an Error escaping one of the master's threads does; null to stop the master (embedded, in tests) */
    HerdService(HerdConfig config, FatalErrorHandler onFatalError) {
        this.config = config;
        this.users = new Users(config.jolokia());
        this.master = addPart(new Master(config, new Log4jWorkerOutput(), onFatalError));
        // After the master: stopped before it, so no operation arrives while the workers drain.
        this.jolokia = addPart(new JolokiaEndpoint(config.jolokia(), users, new MetricsEndpoint(master)));
        this.jmx = config.jmx() == null ? null : addPart(new JmxConnector(config.jmx(), users));
        // Last: READY=1 only once everything else runs; first to stop: STOPPING=1 comes first.
        this.systemd = addPart(new SystemdNotifications(master, SystemdNotifier.fromEnvironment(System.getenv(), ProcessHandle.current().pid())));
    }

    /**
     * The steps that may need root, done before a daemon drops to its user: binds every listening
     * socket, reads (or makes) the management users' passwords and opens the endpoints' TLS
     * keystores.
     */
    public void prepare() throws ConfigException, IOException {
        users.prepare();
        jolokia.prepare();
        if (jmx != null) jmx.prepare();
        master.bind(); // last: a service that cannot start leaves no port bound behind

    }

    @Override
    protected void doStart() throws Exception {
        users.prepare();
        for (Cluster cluster : master.clusters()) register(cluster);
        ManagementFactory.getPlatformMBeanServer().registerMBean(
                new DescribedMXBean<>(new ServiceBean(this, master, config), ServiceMXBean.class, new NotificationBroadcasterSupport()), SERVICE_NAME);
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
        if (server.isRegistered(SERVICE_NAME)) server.unregisterMBean(SERVICE_NAME);
        for (String app : List.copyOf(beans.keySet())) unregister(app);
        super.doStop();
        LOG.log(Level.INFO, "stopped");
    }

    /** Makes an app's ClusterMXBean visible over JMX and Jolokia. */
    void register(Cluster cluster) throws JMException {
        ClusterBean bean = new ClusterBean(cluster);
        ManagementFactory.getPlatformMBeanServer().registerMBean(bean.mbean(), ClusterBean.name(cluster.name()));
        beans.put(cluster.name(), bean);
    }

    void unregister(String app) throws JMException {
        ClusterBean bean = beans.remove(app);
        if (bean != null) bean.close();
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        if (server.isRegistered(ClusterBean.name(app))) server.unregisterMBean(ClusterBean.name(app));
    }

    private static ObjectName serviceName() {
        try {
            return new ObjectName("herd:type=Service");
        } catch (MalformedObjectNameException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public Master master() {
        return master;
    }

    /** What systemd hears of the service: HerdDaemon tells it of a reload on SIGUSR2. */
    SystemdNotifications systemd() {
        return systemd;
    }

    /** JConsole's connection string for the RMI connector, or null when it is off. */
    public String jmxUrl() {
        return jmx == null ? null : jmx.url();
    }

    /** Where Jolokia listens (once started). */
    public String jolokiaUrl() {
        return jolokia.url();
    }

    /** Where Prometheus scrapes the service's metrics (once started). */
    public String metricsUrl() {
        return jolokia.metricsUrl();
    }

    private static String format(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
