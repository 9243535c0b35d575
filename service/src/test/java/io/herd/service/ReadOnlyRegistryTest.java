package io.herd.service;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.rmi.AccessException;
import java.rmi.NotBoundException;
import java.rmi.Remote;
import java.rmi.RemoteException;
import java.rmi.ServerException;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.arrayContaining;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * ReadOnlyRegistry, herd's one subclass of a JDK-internal class, on this JDK: it is exported
 * where a registry is looked for, serves its one name, and refuses every change — even from this
 * host, which the JDK's plain registry allows to change anything.
 */
@Timeout(60)
class ReadOnlyRegistryTest {
    /** A remote object standing for the connector. */
    interface Held extends Remote {
        String hello() throws RemoteException;
    }

    private static final class HeldImpl implements Held {
        @Override
        public String hello() {
            return "held";
        }
    }

    private final RMIServerSocketFactory loopback = port -> new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
    private final HeldImpl held = new HeldImpl();
    private ReadOnlyRegistry registry;
    private Registry client;

    @BeforeEach
    void start() throws Exception {
        Remote stub = UnicastRemoteObject.exportObject(held, 0, null, loopback);
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        registry = new ReadOnlyRegistry(port, null, loopback, stub);
        client = LocateRegistry.getRegistry("127.0.0.1", port);
    }

    @AfterEach
    void stop() throws Exception {
        registry.close();
        UnicastRemoteObject.unexportObject(held, true);
    }

    @Test
    void servesItsOneName() throws Exception {
        assertThat(client.list(), arrayContaining("jmxrmi"));
        assertThat(((Held) client.lookup("jmxrmi")).hello(), is("held"));
        assertThrows(NotBoundException.class, () -> client.lookup("other"));
    }

    @Test
    void refusesEveryChangeFromThisHost() throws Exception {
        // RMI hands a RemoteException thrown by the registry back inside a ServerException
        assertThat(assertThrows(ServerException.class, () -> client.unbind("jmxrmi")).getCause(), instanceOf(AccessException.class));
        assertThat(assertThrows(ServerException.class, () -> client.rebind("jmxrmi", null)).getCause(), instanceOf(AccessException.class));
        assertThat(assertThrows(ServerException.class, () -> client.bind("other", null)).getCause(), instanceOf(AccessException.class));
        // with an object, the registry's filter refuses it before it is read
        Remote stub = (Remote) client.lookup("jmxrmi");
        assertThrows(RemoteException.class, () -> client.rebind("jmxrmi", stub));
        assertThrows(RemoteException.class, () -> client.bind("other", stub));
        assertThat(client.list(), arrayContaining("jmxrmi"));
        assertThat(((Held) client.lookup("jmxrmi")).hello(), is("held"));
    }
}
