package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.lifecycle.LifeCycle;

import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;
import javax.management.remote.rmi.RMIJRMPServerImpl;
import javax.net.ssl.SSLContext;
import javax.rmi.ssl.SslRMIClientSocketFactory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.rmi.server.RMIClientSocketFactory;
import java.rmi.server.RMIServerSocketFactory;
import java.util.Map;

/**
 * The JMX RMI connector, for JConsole or VisualVM on another host (local attach needs none). Off
 * unless {@code herd.jmx.port} is set; registry and server share that port, bound to
 * {@code herd.jmx.host} (loopback by default), both over TLS when {@code herd.jmx.ssl = true}.
 *
 * <p>Its users are the service's {@link Users}, as over Jolokia: {@code herd} may do everything,
 * {@code herd-monitor} may only read ({@link JmxPasswordAuthenticator}, {@link JmxRoleCheck}).
 * What a client sends is deserialized only within {@link #CREDENTIALS_FILTER} before login and
 * {@link #SERIAL_FILTER} after, and the registry cannot be changed ({@link ReadOnlyRegistry}).
 */
final class JmxConnector extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(JmxConnector.class.getName());

    /**
     * What a client's credentials may be, as the JDK's own agent has it: Strings (and arrays of
     * them) only. Anything else is refused before it is deserialized, so an unauthenticated
     * client cannot make the service run a class's {@code readObject}.
     */
    static final String CREDENTIALS_FILTER = "java.lang.String;!*";

    /**
     * What a logged-in client's calls may make the service deserialize — before
     * {@link JmxRoleCheck} sees the call, so the monitor's {@code invoke} and {@code setAttribute}
     * arguments too. Enough for JConsole and any JMX client: the JDK's own types ({@code java.lang},
     * {@code java.util}, BigInteger and BigDecimal), JMX's (ObjectName, Attribute, query and
     * notification filter classes, every open type: CompositeData, TabularData) and the connector's
     * wrappers (MarshalledObject; Subject arrays, which carry no subject). Any other class is
     * refused: an app's own serializable classes cannot be sent as arguments. The limits bound
     * what one call can cost: 20 levels deep, a million array elements (so at most about 1 MB of
     * arguments, which travel as one byte array), 16 MB read.
     */
    static final String SERIAL_FILTER = "maxdepth=20;maxrefs=100000;maxarray=1000000;maxbytes=16000000;"
            + "java.lang.*;java.math.BigInteger;java.math.BigDecimal;java.util.*;javax.management.*;javax.management.openmbean.*;"
            + "java.rmi.MarshalledObject;javax.security.auth.Subject;!*";

    private final HerdConfig.Jmx config;
    private final Users users;
    /** The server's TLS context once {@link #prepare}d; null without TLS. */
    private SSLContext tls;
    private JMXConnectorServer server;
    private ReadOnlyRegistry registry;

    JmxConnector(HerdConfig.Jmx config, Users users) {
        this.config = config;
        this.users = users;
    }

    /** JConsole's connection string. With TLS, give JConsole {@code host:port} instead: it then looks the registry up over TLS. */
    String url() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "service:jmx:rmi:///jndi/rmi://" + host + ":" + config.port() + "/" + ReadOnlyRegistry.NAME;
    }

    /** Opens the TLS keystore, if any, so that a wrong password or a keystore without a key stops the service before it starts. */
    synchronized void prepare() throws ConfigException {
        if (config.ssl() != null && tls == null) tls = ServerTls.context(config.ssl());
    }

    @Override
    protected void doStart() throws ConfigException, IOException {
        prepare();
        JdkServerLimits.applyRmi(); // before RMI's transport first starts in this JVM
        InetAddress address = InetAddress.getByName(config.host());
        RMIServerSocketFactory serverSockets = tls == null ? new BoundSockets(address) : new ServerTls.ServerSockets(address, tls);
        RMIClientSocketFactory clientSockets = tls == null ? null : new SslRMIClientSocketFactory();
        Map<String, Object> environment = Map.of(
                JMXConnectorServer.AUTHENTICATOR, new JmxPasswordAuthenticator(users),
                RMIConnectorServer.CREDENTIALS_FILTER_PATTERN, CREDENTIALS_FILTER,
                RMIConnectorServer.SERIAL_FILTER_PATTERN, SERIAL_FILTER);
        try {
            RMIJRMPServerImpl rmiServer = new RMIJRMPServerImpl(config.port(), clientSockets, serverSockets, environment);
            server = new RMIConnectorServer(new JMXServiceURL("rmi", config.host(), config.port()), environment, rmiServer,
                    ManagementFactory.getPlatformMBeanServer());
            server.setMBeanServerForwarder(JmxRoleCheck.forwarder());
            server.start();
            registry = newRegistry(clientSockets, serverSockets, rmiServer);
        } catch (IOException | RuntimeException e) {
            doStop(); // the port is not left behind for a retry to trip on
            throw e;
        }
        LOG.log(Level.INFO, "JMX connector on {0}{1} (users {2} and {3})", url(), tls == null ? "" : " over TLS",
                Role.OPERATOR.user(), Role.MONITOR.user());
    }

    private ReadOnlyRegistry newRegistry(RMIClientSocketFactory clientSockets, RMIServerSocketFactory serverSockets,
                                         RMIJRMPServerImpl rmiServer) throws IOException {
        try {
            return new ReadOnlyRegistry(config.port(), clientSockets, serverSockets, rmiServer.toStub());
        } catch (LinkageError noAccess) {
            throw new IllegalStateException("the JMX connector needs the JVM option " + ReadOnlyRegistry.JVM_FLAG
                    + " (conf/jvm.options and bin/herd have it): " + noAccess, noAccess);
        }
    }

    @Override
    protected void doStop() throws IOException {
        try {
            if (registry != null) registry.close();
        } finally {
            if (server != null) server.stop();
            registry = null;
            server = null;
        }
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
