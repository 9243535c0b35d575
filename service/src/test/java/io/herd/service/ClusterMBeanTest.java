package io.herd.service;

import io.herd.engine.ClusterInfo;
import io.herd.engine.OperationResult;
import io.herd.engine.WorkerInfo;
import io.herd.mbeans.ClusterBean;
import io.herd.mbeans.ClusterMXBean;
import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.management.JMX;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.both;
import static org.hamcrest.Matchers.closeTo;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.emptyString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The ClusterMXBean of a running service, through a real JMX RMI connector on loopback. */
@Timeout(120)
class ClusterMBeanTest {
    private HerdService service;
    private JMXConnectorServer connectorServer;
    private JMXConnector connector;
    private MBeanServerConnection jmx;
    private ClusterMXBean hello;
    private final ObjectName name = ClusterBean.name("hello");

    @BeforeEach
    void startServiceAndConnect() throws Exception {
        service = new HerdService(HelloCluster.config(2, Map.of("max.instances", "4")));
        service.start();
        connectorServer = JMXConnectorServerFactory.newJMXConnectorServer(new JMXServiceURL("rmi", "127.0.0.1", 0), null,
                ManagementFactory.getPlatformMBeanServer());
        connectorServer.start();
        connector = JMXConnectorFactory.connect(connectorServer.getAddress());
        jmx = connector.getMBeanServerConnection();
        hello = JMX.newMXBeanProxy(jmx, name, ClusterMXBean.class);
        Await.until("hello's 2 workers online", hello::getOnline, online -> online >= 2, Duration.ofSeconds(60));
    }

    @AfterEach
    void stop() throws Exception {
        if (connector != null) connector.close();
        if (connectorServer != null) connectorServer.stop();
        service.stop();
        assertThat("worker JVMs left", ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList(), hasSize(0));
    }

    @Test
    void attributesMatchTheRunningWorkers() {
        assertThat(hello.getApp(), is("hello"));
        assertThat(hello.getOnline(), is(2));
        assertThat(hello.getInstances(), is(2));
        assertThat("no spares are configured", hello.getSpares(), is(0));
        assertThat(hello.getRunningOperation(), is(emptyString()));
        assertThat(hello.getWorkers(), hasSize(2));
        for (WorkerInfo worker : hello.getWorkers()) {
            assertThat(worker.state(), is("online"));
            assertThat("pid " + worker.pid() + " is a live child of the service",
                    ProcessHandle.current().children().anyMatch(child -> child.pid() == worker.pid()), is(true));
        }
        assertThat(hello.getStats().workers().stream().map(WorkerInfo::pid).toList(),
                is(hello.getWorkers().stream().map(WorkerInfo::pid).toList()));
    }

    @Test
    void workersReportTheirMemoryAndCpu() throws Exception {
        Await.until("every worker's memory sampled", hello::getWorkers, workers -> workers.stream().noneMatch(w -> w.rssBytes() == 0),
                Duration.ofSeconds(30));
        double allCores = 100.0 * Runtime.getRuntime().availableProcessors();
        for (WorkerInfo worker : hello.getWorkers()) {
            long rss = ProcessHandle.of(worker.pid()).isPresent() ? worker.rssBytes() : -1;
            assertThat("a JVM's resident memory is more than 8 MiB", rss > 8L << 20, is(true));
            assertThat("CPU use, in percent of one core", worker.cpuPercent(), is(both(greaterThanOrEqualTo(0.0)).and(lessThanOrEqualTo(allCores))));
        }
        ClusterInfo stats = hello.getStats();
        assertThat(stats.rssBytes(), is(stats.workers().stream().mapToLong(WorkerInfo::rssBytes).sum()));
        assertThat(stats.cpuPercent(), is(closeTo(stats.workers().stream().mapToDouble(WorkerInfo::cpuPercent).sum(), 1e-9)));
    }

    @Test
    void scaleThroughJmxChangesTheCluster() {
        OperationResult result = hello.scale(3);
        assertThat(result.toString(), result.succeeded(), is(true));
        assertThat(hello.getOnline(), is(3));
        assertThat(hello.getInstances(), is(3));
        assertThat(ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(), is(3L));

        assertThat(hello.scaleBy(-2).succeeded(), is(true));
        assertThat(hello.getInstances(), is(1));
    }

    @Test
    void aNotificationListenerSeesAReloadStartAndFinish() throws Exception {
        java.util.List<javax.management.Notification> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        jmx.addNotificationListener(name, (notification, handback) -> seen.add(notification), null, null);

        io.herd.engine.OperationResult reload = hello.reload();
        assertThat(reload.succeeded(), is(true));
        assertThat("how long it took crosses JMX", reload.durationMillis(), org.hamcrest.Matchers.greaterThan(0L));

        Await.until("the reload's " + ClusterBean.OPERATION_FINISHED + " notification", () -> seen.stream().anyMatch(n -> n.getType().equals(ClusterBean.OPERATION_FINISHED)),
                Duration.ofSeconds(30));
        java.util.List<String> types = seen.stream().map(javax.management.Notification::getType).toList();
        assertThat(types, org.hamcrest.Matchers.hasItems(ClusterBean.OPERATION_STARTED, ClusterBean.WORKER_STATE, ClusterBean.OPERATION_FINISHED));
        javax.management.Notification finished = seen.stream().filter(n -> n.getType().equals(ClusterBean.OPERATION_FINISHED)).findFirst().orElseThrow();
        assertThat(finished.getMessage(), org.hamcrest.Matchers.matchesPattern(".*reload finished: replaced 2 workers in \\d+ ms"));
        assertThat((String) finished.getUserData(), containsString("#1 pid"));
        javax.management.Notification online = seen.stream().filter(n -> n.getMessage().contains("-> online")).findFirst().orElseThrow();
        assertThat(((javax.management.openmbean.CompositeData) online.getUserData()).get("to"), is("online"));
    }

    @Test
    void outOfRangeArgumentsAreRefusedAndNothingChanges() {
        RuntimeException negative = assertThrows(RuntimeException.class, () -> hello.scale(-1));
        assertThat(negative.getMessage(), containsString("from 0 to 4"));
        RuntimeException tooMany = assertThrows(RuntimeException.class, () -> hello.scale(1_000_000));
        assertThat(tooMany.getMessage(), containsString("max.instances"));
        assertThat(hello.getInstances(), is(2));
        assertThat(hello.getOnline(), is(2));
        assertThrows(javax.management.InstanceNotFoundException.class,
                () -> jmx.invoke(ClusterBean.name("nosuch"), "scale", new Object[] {3}, new String[] {"int"}));
    }

    @Test
    void everyAttributeAndOperationSaysWhatItMeans() throws Exception {
        MBeanInfo info = jmx.getMBeanInfo(name);
        assertThat(info.getDescription(), containsString("herd cluster"));
        for (MBeanAttributeInfo attribute : info.getAttributes()) {
            assertThat(attribute.getName(), attribute.getDescription(), not(is(attribute.getName())));
        }
        for (MBeanOperationInfo operation : info.getOperations()) {
            assertThat(operation.getName(), operation.getDescription(), not(is(operation.getName())));
        }
        MBeanOperationInfo scale = Arrays.stream(info.getOperations()).filter(op -> op.getName().equals("scale")).findFirst().orElseThrow();
        assertThat(scale.getSignature()[0].getName(), is("instances"));
        assertThat(Arrays.stream(info.getAttributes()).map(MBeanAttributeInfo::getDescription).toList(), everyItem(not(emptyString())));
    }
}
