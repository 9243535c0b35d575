package io.herd.service;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The JMX RMI connector with the password and access files: as JConsole on another host would use it. */
@Timeout(120)
class JmxConnectorTest {
    @TempDir
    Path conf;
    private HerdService service;

    @BeforeEach
    void start() throws Exception {
        Path passwords = Files.writeString(conf.resolve("jmxremote.password"), "herd right-password-123\nmonitor watch-only-456\n");
        Path access = Files.writeString(conf.resolve("jmxremote.access"), "herd readwrite\nmonitor readonly\n");
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        service = new HerdService(HelloCluster.config(1, Map.of("herd.jmx.port", Integer.toString(port),
                "herd.jmx.password.file", passwords.toString(), "herd.jmx.access.file", access.toString())));
        service.start();
    }

    @AfterEach
    void stop() throws Exception {
        service.stop();
    }

    private JMXConnector connect(String user, String password) throws Exception {
        return JMXConnectorFactory.connect(new JMXServiceURL(service.jmxUrl()),
                Map.of(JMXConnector.CREDENTIALS, new String[] {user, password}));
    }

    @Test
    void theRightPasswordReachesTheClusterMBean() throws Exception {
        try (JMXConnector connector = connect("herd", "right-password-123")) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            assertThat(jmx.getAttribute(io.herd.mbeans.ClusterBean.name("hello"), "App"), is("hello"));
        }
    }

    @Test
    void aWrongPasswordIsRefused() {
        assertThrows(SecurityException.class, () -> connect("herd", "wrong-password"));
        assertThrows(SecurityException.class, () -> JMXConnectorFactory.connect(new JMXServiceURL(service.jmxUrl())));
    }

    @Test
    void aReadOnlyUserCannotOperate() throws Exception {
        try (JMXConnector connector = connect("monitor", "watch-only-456")) {
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            assertThat(jmx.getAttribute(io.herd.mbeans.ClusterBean.name("hello"), "App"), is("hello"));
            assertThrows(SecurityException.class, () -> jmx.invoke(io.herd.mbeans.ClusterBean.name("hello"), "scale",
                    new Object[] {2}, new String[] {"int"}));
        }
    }
}
