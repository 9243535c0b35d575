package io.herd.service;

import io.herd.HerdConfig;
import io.herd.lifecycle.LifeCycle;

import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXConnectorServerFactory;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;
import java.util.HashMap;
import java.util.Map;

/**
 * The JMX RMI connector, for JConsole or VisualVM on another host (local attach needs none):
 * registry and server on one port, bound to {@code herd.jmx.host} (loopback by default), with
 * the password and access files from conf/. Off unless {@code herd.jmx.port} is set.
 */
final class JmxConnector extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(JmxConnector.class.getName());

    private final HerdConfig.Jmx config;
    private Registry registry;
    private JMXConnectorServer server;

    JmxConnector(HerdConfig.Jmx config) {
        this.config = config;
    }

    /** The connection string JConsole takes. */
    String url() {
        return "service:jmx:rmi://" + config.host() + ":" + config.port() + "/jndi/rmi://" + config.host() + ":" + config.port() + "/jmxrmi";
    }

    @Override
    protected void doStart() throws IOException {
        BoundSockets sockets = new BoundSockets(InetAddress.getByName(config.host()));
        registry = LocateRegistry.createRegistry(config.port(), null, sockets);
        Map<String, Object> environment = new HashMap<>();
        environment.put(RMIConnectorServer.RMI_SERVER_SOCKET_FACTORY_ATTRIBUTE, sockets);
        environment.put("jmx.remote.x.password.file", config.passwordFile().toString());
        environment.put("jmx.remote.x.access.file", config.accessFile().toString());
        server = JMXConnectorServerFactory.newJMXConnectorServer(new JMXServiceURL(url()), environment,
                ManagementFactory.getPlatformMBeanServer());
        server.start();
        LOG.log(Level.INFO, "JMX connector on {0} (users in {1})", url(), config.passwordFile());
    }

    @Override
    protected void doStop() throws IOException {
        if (server != null) server.stop();
        if (registry != null) UnicastRemoteObject.unexportObject(registry, true);
        server = null;
        registry = null;
    }

    /**
     * Server sockets on one address. RMI shares a port between exports whose factories are equal:
     * a record's equality is what lets the registry and the connector server use the one port.
     */
    private record BoundSockets(InetAddress address) implements RMIServerSocketFactory {
        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return new ServerSocket(port, 50, address);
        }
    }
}
