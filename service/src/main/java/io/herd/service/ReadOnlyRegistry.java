package io.herd.service;

import sun.rmi.registry.RegistryImpl;

import java.io.ObjectInputFilter;
import java.rmi.AccessException;
import java.rmi.NoSuchObjectException;
import java.rmi.NotBoundException;
import java.rmi.Remote;
import java.rmi.RemoteException;
import java.rmi.server.RMIClientSocketFactory;
import java.rmi.server.RMIServerSocketFactory;
import java.rmi.server.UnicastRemoteObject;

/**
 * The JMX connector's RMI registry: one name, {@code jmxrmi}, bound for good. {@code bind},
 * {@code rebind} and {@code unbind} are refused from anyone — as by the JDK's own agent
 * ({@code sun.management.jmxremote.SingleEntryRegistry}, which this follows).
 *
 * <p>Why: the JDK's plain registry ({@code LocateRegistry.createRegistry}) lets any process on
 * this host unbind the connector and bind a stub of its own in its place; JConsole then sends the
 * operator's password to that process. A registry is found by its well-known object id, which
 * only the JDK's registry class can be exported under, so this extends it.
 *
 * <p>The service's one use of a package the JDK does not export: {@code sun.rmi.registry.RegistryImpl},
 * a public class with a public constructor in java.rmi's internals. It needs
 * {@code --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED} to compile and in the service's
 * JVM. ReadOnlyRegistryTest proves it works on this JDK.
 */
final class ReadOnlyRegistry extends RegistryImpl {
    /** The name JConsole looks up: {@code host:port} means {@code /jndi/rmi://host:port/jmxrmi}. */
    static final String NAME = "jmxrmi";
    /** The flag the service's JVM needs for this class. */
    static final String JVM_FLAG = "--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED";

    private final transient Remote connector;

    /**
     * A registry on {@code port} (one listening socket with the connector when the socket
     * factories are equal) holding {@code connector} under {@link #NAME}.
     *
     * <p>Without {@link #JVM_FLAG}, the first use of this class throws {@link IllegalAccessError}
     * (a {@link LinkageError}) where it is referred to.
     */
    ReadOnlyRegistry(int port, RMIClientSocketFactory clientSockets, RMIServerSocketFactory serverSockets, Remote connector)
            throws RemoteException {
        this.connector = connector; // before super(), which exports: no lookup ever sees it unset
        super(port, clientSockets, serverSockets, ReadOnlyRegistry::acceptNoClass);
    }

    /** Stops answering, and frees the port unless the connector still uses it. */
    void close() throws NoSuchObjectException {
        UnicastRemoteObject.unexportObject(this, true);
    }

    @Override
    public Remote lookup(String name) throws NotBoundException {
        if (NAME.equals(name)) return connector;
        throw new NotBoundException("only " + NAME + " is bound here");
    }

    @Override
    public String[] list() {
        return new String[] {NAME};
    }

    @Override
    public void bind(String name, Remote object) throws AccessException {
        throw new AccessException("this registry cannot be changed");
    }

    @Override
    public void rebind(String name, Remote object) throws AccessException {
        throw new AccessException("this registry cannot be changed");
    }

    @Override
    public void unbind(String name) throws AccessException {
        throw new AccessException("this registry cannot be changed");
    }

    /**
     * What a call may make this registry deserialize: no object at all. {@code lookup} takes a
     * String, which a filter never sees; {@code bind}'s object is refused before it is read.
     */
    private static ObjectInputFilter.Status acceptNoClass(ObjectInputFilter.FilterInfo info) {
        boolean plain = info.serialClass() == null && info.arrayLength() < 0 && info.depth() <= 2 && info.references() <= 4;
        return plain ? ObjectInputFilter.Status.ALLOWED : ObjectInputFilter.Status.REJECTED;
    }
}
