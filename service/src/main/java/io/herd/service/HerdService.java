package io.herd.service;

import io.herd.config.AppConfig;
import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.config.Settings;
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
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The herd service: the master and its management endpoints, started in order and stopped in
 * reverse. Hosted by {@link Main} in the foreground (and by the jsvc daemon).
 *
 * <p>Stopping, whichever way (SIGTERM to {@code herd run}, jsvc's stop, an embedding program),
 * begins with {@code herd.drain.delay}: balancers hear {@code drain} (agent checks, the health
 * endpoint) while everything serves on, unchanged, for that long; then the service stops as it
 * would without it. {@link #skipDrain()} (a second SIGTERM) ends the delay early.
 */
public final class HerdService extends Container {
    private static final System.Logger LOG = System.getLogger(HerdService.class.getName());

    private final HerdConfig config;
    private final Master master;
    /** What balancers are told of each app: the agent checks and the health endpoint ask it. */
    private final BalancerView balancerView;
    private final AgentChecks agents;
    /** Null when {@code herd.health.listen} is unset. */
    private final HealthEndpoint health;
    /** Counted down to end the drain delay early (a second SIGTERM). */
    private final CountDownLatch drainSkipped = new CountDownLatch(1);
    /**
     * Counted down as the service begins to stop, or its drain is skipped: an app's own drain
     * ({@code stopApp}) ends then, since the service's drain now covers every app and its stop
     * stops them all.
     */
    private final CountDownLatch appDrainsEnd = new CountDownLatch(1);
    /** The start completed: a stop then drains first (one that follows a failed start does not). */
    private volatile boolean started;
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
        Master created = new Master(config, new Log4jWorkerOutput(), onFatalError);
        this.balancerView = new BalancerView(created);
        // Before the master: stopped after it, so balancers hear drain until the very end.
        this.health = config.healthListen() == null ? null : addPart(new HealthEndpoint(config.healthListen(), balancerView));
        this.agents = addPart(new AgentChecks(balancerView));
        this.master = addPart(created);
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
        try {
            if (health != null) health.bind(Settings.HEALTH_LISTEN.key(), config.source());
            for (AppConfig app : config.apps()) bindAgent(app);
            master.bind(); // last: a service that cannot start leaves no port bound behind
        } catch (ConfigException | RuntimeException e) {
            agents.closeAll();
            if (health != null) health.close();
            throw e;
        }
    }

    /**
     * Binds {@code app}'s agent check port, if it has one (as the service prepares, or as the app
     * is added at run time).
     *
     * @throws ConfigException naming the key and the file when it cannot be bound
     */
    void bindAgent(AppConfig app) throws ConfigException {
        if (app.agentListen() == null) return;
        try {
            agents.bind(app.name(), app.agentListen());
        } catch (IOException e) {
            throw new ConfigException(config.source() + ": " + Settings.AGENT_LISTEN.key(app.name()) + ": " + e.getMessage(), e);
        }
    }

    @Override
    protected void doStart() throws Exception {
        users.prepare();
        // Bound already when prepare ran (a daemon's init); an embedding program may start without it.
        for (AppConfig app : config.apps()) bindAgent(app);
        if (health != null) health.bind(Settings.HEALTH_LISTEN.key(), config.source());
        for (Cluster cluster : master.clusters()) register(cluster);
        ManagementFactory.getPlatformMBeanServer().registerMBean(
                new DescribedMXBean<>(new ServiceBean(this, master, config), ServiceMXBean.class, new NotificationBroadcasterSupport()), SERVICE_NAME);
        super.doStart();
        started = true;
        for (Cluster cluster : master.clusters()) {
            LOG.log(Level.INFO, "app {0}: {1} workers on {2}", cluster.name(), cluster.config().instances(),
                    master.addresses(cluster.name()).stream().map(HerdService::format).collect(Collectors.joining(", ")));
            InetSocketAddress agent = agents.address(cluster.name());
            if (agent != null) LOG.log(Level.INFO, "app {0}: agent check on {1}", cluster.name(), format(agent));
        }
    }

    @Override
    protected void doStop() throws Exception {
        drainFirst();
        LOG.log(Level.INFO, "stopping: no new connections; workers have {0} ms to finish", Long.toString(config.stopTimeout().toMillis()));
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        if (server.isRegistered(SERVICE_NAME)) server.unregisterMBean(SERVICE_NAME);
        for (String app : List.copyOf(beans.keySet())) unregister(app);
        try {
            super.doStop();
        } finally {
            // A start that failed before its parts started (on the health port, say) bound these
            // all the same: their own stop, never started, would leave them open.
            agents.closeAll();
            if (health != null) health.close();
        }
        LOG.log(Level.INFO, "stopped");
    }

    /**
     * The drain delay: balancers hear {@code drain} from now on, and systemd STOPPING=1; for
     * {@code herd.drain.delay}, nothing else changes (the ports listen, connections are
     * dispatched, the workers serve), unless {@link #skipDrain()} ends it early.
     */
    private void drainFirst() throws InterruptedException {
        balancerView.serviceDraining();
        appDrainsEnd.countDown();
        Duration delay = config.drainDelay();
        boolean delayed = started && delay != null && !delay.isZero();
        systemd.stopping(delayed ? "draining for " + delay.toMillis() + " ms (herd.drain.delay): balancers hear drain; then workers "
                + "finish their requests within herd.stop.timeout (" + config.stopTimeout().toSeconds() + " s)" : null);
        if (!delayed) return;
        LOG.log(Level.INFO, "draining: balancers are told to send no new clients; serving on unchanged for {0} ms (herd.drain.delay), "
                + "then stopping; a second SIGTERM stops at once", Long.toString(delay.toMillis()));
        if (drainSkipped.await(delay.toMillis(), TimeUnit.MILLISECONDS)) LOG.log(Level.INFO, "drain delay cut short: stopping now");
    }

    /** Ends the drain delay early, or skips it if it has not begun: the stop goes on at once (a second SIGTERM). */
    void skipDrain() {
        drainSkipped.countDown();
        appDrainsEnd.countDown();
    }

    /**
     * An app's drain delay ({@code stopApp}): waits up to {@code delay}, less if the service
     * begins to stop meanwhile or its drain is skipped. True when it ran its full length.
     */
    boolean awaitAppDrain(Duration delay) throws InterruptedException {
        return !appDrainsEnd.await(delay.toMillis(), TimeUnit.MILLISECONDS);
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

    /** What balancers are told of each app. */
    BalancerView balancerView() {
        return balancerView;
    }

    /** The apps' agent check ports. */
    AgentChecks agents() {
        return agents;
    }

    /** Where the health endpoint listens (once prepared), or null when it is off. */
    InetSocketAddress healthAddress() {
        return health == null ? null : health.address();
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
