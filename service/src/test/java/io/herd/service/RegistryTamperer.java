package io.herd.service;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.rmi.Remote;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.UnicastRemoteObject;

/**
 * Another process on the service's host trying to take the JMX registry's name over, as a fake
 * connector would to catch the operator's password: {@code unbind} and {@code rebind} of
 * {@code jmxrmi}, and a {@code bind} of a name of its own, each outcome on a line of its own ("unbind: done" or
 * "unbind: refused ..."). Arguments: host port.
 */
public final class RegistryTamperer {
    /** A remote object of this process's own: what it would put in the connector's place. */
    interface Impostor extends Remote {
    }

    private static final class ImpostorImpl implements Impostor {
    }

    public static void main(String[] args) throws Exception {
        Registry registry = LocateRegistry.getRegistry(args[0], Integer.parseInt(args[1]));
        InetAddress loopback = InetAddress.getLoopbackAddress();
        ImpostorImpl impostorObject = new ImpostorImpl();
        Remote impostor = UnicastRemoteObject.exportObject(impostorObject, 0, null, port -> new ServerSocket(port, 50, loopback));
        attempt("unbind", () -> registry.unbind("jmxrmi"));
        attempt("rebind", () -> registry.rebind("jmxrmi", impostor));
        attempt("bind", () -> registry.bind("jmxrmi-impostor", impostor));
        UnicastRemoteObject.unexportObject(impostorObject, true);
    }

    private interface Attempt {
        void run() throws Exception;
    }

    private static void attempt(String what, Attempt attempt) {
        try {
            attempt.run();
            System.out.println(what + ": done");
        } catch (Exception e) {
            System.out.println(what + ": refused " + e);
        }
    }
}
