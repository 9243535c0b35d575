package io.herd.service;

import io.herd.mbeans.ClusterBean;
import io.herd.testing.Await;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.JMX;
import javax.management.MBeanServerConnection;
import javax.management.MBeanServerDelegate;
import javax.management.MalformedObjectNameException;
import javax.management.Notification;
import javax.management.NotificationBroadcasterSupport;
import javax.management.NotificationFilterSupport;
import javax.management.NotificationListener;
import javax.management.ObjectName;
import javax.management.Query;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnector;
import javax.management.remote.rmi.RMIServer;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.rmi.registry.LocateRegistry;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.arrayContaining;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItemInArray;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The JMX RMI connector as JConsole on another host uses it, with Jolokia's two users: the
 * operator may do everything, the monitor only read; nothing else logs in; nothing a client
 * sends is deserialized unless it is a JMX type (a String before login); and no other process
 * can take the registry's name over.
 */
@Timeout(120)
class JmxConnectorTest {
    private static final String OPERATOR_PASSWORD = "operator-secret-1";
    private static final String MONITOR_PASSWORD = "monitor-secret-2";
    private static final ObjectName CLUSTER = ClusterBean.name("hello");
    private static final ObjectName PROBE = name("herd.test:type=Probe");
    private static int port;
    private static HerdService service;

    @BeforeAll
    static void start() throws Exception {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        service = new HerdService(HelloCluster.config(1, Map.of("herd.jmx.port", Integer.toString(port), "max.instances", "4",
                "herd.jolokia.password", OPERATOR_PASSWORD, "herd.jolokia.monitor.password", MONITOR_PASSWORD)));
        service.start();
        ManagementFactory.getPlatformMBeanServer().registerMBean(new Probe(), PROBE);
    }

    @AfterAll
    static void stop() throws Exception {
        ManagementFactory.getPlatformMBeanServer().unregisterMBean(PROBE);
        service.stop();
    }

    @BeforeEach
    void noneDeserializedYet() {
        DeserializationSentinel.READS.set(0);
    }

    /** As JConsole connects to {@code host:port}: the registry's stub, then the connector with a user and password. */
    private static JMXConnector jconsole(Object credentials) throws Exception {
        RMIServer stub = (RMIServer) LocateRegistry.getRegistry("127.0.0.1", port).lookup("jmxrmi");
        JMXConnector connector = new RMIConnector(stub, null);
        connector.connect(credentials == null ? Map.of() : Map.of(JMXConnector.CREDENTIALS, credentials));
        return connector;
    }

    private static JMXConnector jconsole(String user, String password) throws Exception {
        return jconsole(new String[] {user, password});
    }

    @Test
    void theOperatorReadsAndOperatesAndHearsNotifications() throws Exception {
        assertThat(service.jmxUrl(), is("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + port + "/jmxrmi"));
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(service.jmxUrl()),
                Map.of(JMXConnector.CREDENTIALS, new String[] {"herd", OPERATOR_PASSWORD}))) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            assertThat(jmx.getAttribute(CLUSTER, "App"), is("hello"));
            // the service's first worker may still be starting (one that trains the AOT cache starts slower)
            Await.until("hello's first worker online", () -> (Integer) jmx.getAttribute(CLUSTER, "Online"), online -> online == 1,
                    Duration.ofSeconds(60));
            BlockingQueue<Notification> heard = listen(jmx, CLUSTER, "herd.operation.finished");
            CompositeData scaled = (CompositeData) jmx.invoke(CLUSTER, "scale", new Object[] {2}, new String[] {"int"});
            assertThat(scaled.get("message").toString(), scaled.get("succeeded"), is(true));
            assertThat(jmx.getAttribute(CLUSTER, "Online"), is(2));
            assertThat("herd.operation.finished, after scale", heard.poll(60, TimeUnit.SECONDS), notNullValue());
            CompositeData back = (CompositeData) jmx.invoke(CLUSTER, "scale", new Object[] {1}, new String[] {"int"});
            assertThat(back.get("message").toString(), back.get("succeeded"), is(true));
            jmx.setAttribute(PROBE, new Attribute("Sample", sample("written", 7)));
            assertThat(((CompositeData) jmx.getAttribute(PROBE, "Sample")).get("name"), is("written"));
        }
    }

    /** The serial filter lets through what JConsole and MXBean clients send: open types, queries, notification filters. */
    @Test
    void openTypeArgumentsQueriesAndNotificationFiltersGetThrough() throws Exception {
        try (JMXConnector connector = jconsole("herd", OPERATOR_PASSWORD)) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            BlockingQueue<Notification> heard = listen(jmx, PROBE, ProbeMXBean.DESCRIBED);
            ProbeMXBean probe = JMX.newMXBeanProxy(jmx, PROBE, ProbeMXBean.class);
            String described = probe.describe(3, new long[] {1, 2}, "text", List.of("a", "b"), Map.of("x", 1),
                    new ProbeMXBean.Sample("s", 4));
            assertThat(described, is("3 [1, 2] text [a, b] {x=1} Sample[name=s, size=4]"));
            assertThat(heard.poll(60, TimeUnit.SECONDS), notNullValue());
            probe.setSample(new ProbeMXBean.Sample("set", 5));
            assertThat(probe.getSample(), is(new ProbeMXBean.Sample("set", 5)));
            assertThat(jmx.queryNames(new ObjectName("herd:*"), Query.eq(Query.attr("App"), Query.value("hello"))), hasItem(CLUSTER));
        }
    }

    @Test
    void theMonitorReadsAndListens() throws Exception {
        try (JMXConnector connector = jconsole("herd-monitor", MONITOR_PASSWORD);
             JMXConnector operator = jconsole("herd", OPERATOR_PASSWORD)) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            assertThat(jmx.getAttribute(CLUSTER, "App"), is("hello"));
            assertThat(jmx.getAttributes(CLUSTER, new String[] {"App", "Online"}).size(), is(2));
            assertThat(jmx.queryNames(new ObjectName("herd:*"), null), hasItem(CLUSTER));
            assertThat(jmx.queryMBeans(CLUSTER, null).size(), is(1));
            assertThat(jmx.getMBeanInfo(CLUSTER).getOperations().length, greaterThan(0));
            assertThat(jmx.isRegistered(CLUSTER), is(true));
            assertThat(jmx.isInstanceOf(CLUSTER, "javax.management.NotificationBroadcaster"), is(true));
            assertThat(jmx.getMBeanCount(), greaterThan(0));
            assertThat(jmx.getDomains(), hasItemInArray("herd"));
            assertThat(jmx.getDefaultDomain(), is("DefaultDomain"));
            assertThat(jmx.getObjectInstance(CLUSTER).getObjectName(), is(CLUSTER));
            BlockingQueue<Notification> heard = listen(jmx, PROBE, ProbeMXBean.DESCRIBED);
            JMX.newMXBeanProxy(operator.getMBeanServerConnection(), PROBE, ProbeMXBean.class)
                    .describe(1, new long[0], "", List.of(), Map.of(), new ProbeMXBean.Sample("n", 0));
            assertThat("the operator's call, heard by the monitor", heard.poll(60, TimeUnit.SECONDS), notNullValue());
        }
    }

    @Test
    void theMonitorCanNeverActOrWrite() throws Exception {
        int instances = (int) ManagementFactory.getPlatformMBeanServer().getAttribute(CLUSTER, "Instances");
        try (JMXConnector connector = jconsole("herd-monitor", MONITOR_PASSWORD)) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            ObjectName memory = new ObjectName("java.lang:type=Memory");
            List<SecurityException> refused = List.of(
                    assertThrows(SecurityException.class, () -> jmx.invoke(CLUSTER, "scale", new Object[] {instances + 1}, new String[] {"int"})),
                    assertThrows(SecurityException.class, () -> jmx.invoke(memory, "gc", null, null)),
                    assertThrows(SecurityException.class, () -> jmx.setAttribute(memory, new Attribute("Verbose", true))),
                    assertThrows(SecurityException.class, () -> jmx.setAttributes(PROBE, new AttributeList(
                            List.of(new Attribute("Sample", sample("monitor", 1)))))),
                    assertThrows(SecurityException.class, () -> jmx.createMBean("javax.management.timer.Timer", new ObjectName("herd.test:type=Timer"))),
                    assertThrows(SecurityException.class, () -> jmx.unregisterMBean(PROBE)),
                    assertThrows(SecurityException.class, () -> jmx.addNotificationListener(MBeanServerDelegate.DELEGATE_NAME, PROBE, null, null)),
                    assertThrows(SecurityException.class, () -> jmx.removeNotificationListener(MBeanServerDelegate.DELEGATE_NAME, PROBE)));
            for (SecurityException e : refused) assertThat(e.getMessage(), containsString("herd-monitor may only read"));
        }
        assertThat(ManagementFactory.getPlatformMBeanServer().getAttribute(CLUSTER, "Instances"), is(instances));
        assertThat(ManagementFactory.getPlatformMBeanServer().isRegistered(new ObjectName("herd.test:type=Timer")), is(false));
        assertThat(ManagementFactory.getPlatformMBeanServer().isRegistered(PROBE), is(true));
    }

    @Test
    void wrongOrMissingCredentialsAreRefused() throws Exception {
        assertThrows(SecurityException.class, () -> jconsole("herd", "wrong-password"));
        assertThrows(SecurityException.class, () -> jconsole("herd", MONITOR_PASSWORD));
        assertThrows(SecurityException.class, () -> jconsole("herd-monitor", OPERATOR_PASSWORD));
        assertThrows(SecurityException.class, () -> jconsole("monitor", MONITOR_PASSWORD));
        assertThrows(SecurityException.class, () -> jconsole(new String[] {"herd"}));
        assertThrows(SecurityException.class, () -> jconsole(new String[] {"herd", OPERATOR_PASSWORD, "extra"}));
        assertThrows(SecurityException.class, () -> jconsole(null));
        assertThrows(SecurityException.class, () -> JMXConnectorFactory.connect(new JMXServiceURL(service.jmxUrl())));
    }

    @Test
    void aCredentialThatIsNotAStringIsNeverDeserialized() {
        Exception refused = assertThrows(Exception.class, () -> jconsole(new DeserializationSentinel()));
        assertThat(refused.toString(), DeserializationSentinel.READS.get(), is(0));
        Exception inAnArray = assertThrows(Exception.class, () -> jconsole(new Object[] {"herd", new DeserializationSentinel()}));
        assertThat(inAnArray.toString(), DeserializationSentinel.READS.get(), is(0));
    }

    @Test
    void anArgumentThatIsNotAJmxTypeIsNeverDeserialized() throws Exception {
        for (String[] user : new String[][] {{"herd-monitor", MONITOR_PASSWORD}, {"herd", OPERATOR_PASSWORD}}) {
            try (JMXConnector connector = jconsole(user[0], user[1])) {
                MBeanServerConnection jmx = connector.getMBeanServerConnection();
                Exception refused = assertThrows(Exception.class,
                        () -> jmx.invoke(CLUSTER, "scale", new Object[] {new DeserializationSentinel()}, new String[] {"int"}));
                assertThat(user[0] + ": " + refused, DeserializationSentinel.READS.get(), is(0));
                assertThrows(Exception.class, () -> jmx.setAttribute(PROBE, new Attribute("Sample", new DeserializationSentinel())));
                assertThat(user[0] + ": setAttribute", DeserializationSentinel.READS.get(), is(0));
                assertThat("the connection still serves", jmx.getAttribute(CLUSTER, "App"), is("hello"));
            }
        }
    }

    @Test
    void noOtherProcessCanChangeTheRegistry() throws Exception {
        String outcomes = JavaMain.run(RegistryTamperer.class, List.of(), "127.0.0.1", Integer.toString(port));
        assertThat(outcomes, containsString("unbind: refused"));
        assertThat(outcomes, containsString("java.rmi.AccessException: this registry cannot be changed"));
        assertThat(outcomes, containsString("rebind: refused"));
        assertThat(outcomes, containsString("\nbind: refused"));
        assertThat(outcomes, not(containsString(": done")));
        assertThat(LocateRegistry.getRegistry("127.0.0.1", port).list(), arrayContaining("jmxrmi"));
        try (JMXConnector connector = jconsole("herd", OPERATOR_PASSWORD)) {
            assertThat(connector.getMBeanServerConnection().getAttribute(CLUSTER, "App"), is("hello"));
        }
    }

    /** Without the JVM option the registry needs, the service does not start, and says which option it needs. */
    @Test
    void aServiceJvmWithoutTheRegistryFlagSaysWhatItNeeds(@TempDir Path home) throws Exception {
        int free;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            free = probe.getLocalPort();
        }
        Path config = ServiceProcess.helloConfig(home, 1, "herd.jmx.port = " + free);
        JavaMain.Ended ended = JavaMain.runToEnd(Main.class, List.of("--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "--enable-native-access=ALL-UNNAMED", "-Dherd.home=" + home), "run", config.toString());
        assertThat(ended.output(), ended.exitCode(), is(1));
        assertThat(ended.output(), containsString("herd: cannot start: java.lang.IllegalStateException: the JMX connector needs the JVM option "
                + "--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED"));
    }

    private static BlockingQueue<Notification> listen(MBeanServerConnection jmx, ObjectName name, String type) throws Exception {
        BlockingQueue<Notification> heard = new LinkedBlockingQueue<>();
        NotificationFilterSupport filter = new NotificationFilterSupport();
        filter.enableType(type);
        NotificationListener listener = (notification, handback) -> heard.add(notification);
        jmx.addNotificationListener(name, listener, filter, null);
        return heard;
    }

    /** A Sample as CompositeData, as a client without the record class would write it. */
    private static CompositeData sample(String name, int size) throws Exception {
        CompositeData current = (CompositeData) ManagementFactory.getPlatformMBeanServer().getAttribute(PROBE, "Sample");
        return new CompositeDataSupport(current.getCompositeType(), Map.of("name", name, "size", size));
    }

    private static ObjectName name(String name) {
        try {
            return new ObjectName(name);
        } catch (MalformedObjectNameException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The test MXBean; each describe also notifies its listeners. */
    public static final class Probe extends NotificationBroadcasterSupport implements ProbeMXBean {
        private final AtomicLong sequence = new AtomicLong();
        private volatile Sample sample = new Sample("initial", 0);

        @Override
        public Sample getSample() {
            return sample;
        }

        @Override
        public void setSample(Sample sample) {
            this.sample = sample;
        }

        @Override
        public String describe(int number, long[] numbers, String text, List<String> words, Map<String, Integer> counts, Sample sample) {
            sendNotification(new Notification(DESCRIBED, PROBE, sequence.incrementAndGet(), text));
            return number + " " + Arrays.toString(numbers) + " " + text + " " + words + " " + new HashMap<>(counts) + " " + sample;
        }
    }
}
