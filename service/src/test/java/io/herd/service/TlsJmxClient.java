package io.herd.service;

import io.herd.mbeans.ClusterBean;

import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.rmi.RMIConnector;
import javax.management.remote.rmi.RMIServer;
import javax.rmi.ssl.SslRMIClientSocketFactory;
import java.rmi.registry.LocateRegistry;
import java.util.Map;

/**
 * JConsole connecting to {@code host:port} over TLS, as it does when started with
 * {@code -J-Djavax.net.ssl.trustStore=...}: the registry looked up with the JDK's
 * SslRMIClientSocketFactory, then the connector's stub (which carries that factory) connected
 * with a user and password. Prints the cluster's App attribute, then the result of
 * {@code scaleBy(0)}. Arguments: host port user password.
 */
public final class TlsJmxClient {
    public static void main(String[] args) throws Exception {
        RMIServer stub = (RMIServer) LocateRegistry.getRegistry(args[0], Integer.parseInt(args[1]), new SslRMIClientSocketFactory())
                .lookup("jmxrmi");
        try (JMXConnector connector = new RMIConnector(stub, null)) {
            connector.connect(Map.of(JMXConnector.CREDENTIALS, new String[] {args[2], args[3]}));
            MBeanServerConnection jmx = connector.getMBeanServerConnection();
            System.out.println("App: " + jmx.getAttribute(ClusterBean.name("hello"), "App"));
            Object result = jmx.invoke(ClusterBean.name("hello"), "scaleBy", new Object[] {0}, new String[] {"int"});
            System.out.println("scaleBy: " + ((javax.management.openmbean.CompositeData) result).get("succeeded"));
        }
    }
}
