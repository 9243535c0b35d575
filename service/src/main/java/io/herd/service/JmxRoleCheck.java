package io.herd.service;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.remote.JMXPrincipal;
import javax.management.remote.MBeanServerForwarder;
import javax.security.auth.Subject;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Optional;
import java.util.Set;

/**
 * Holds each JMX connector client to its {@link Role}, between the connector and the MBean
 * server: the operator ({@code herd}) reaches everything; the monitor ({@code herd-monitor}) only
 * reads — attributes, names, MBean info, and notifications to its own client — and gets a
 * {@link SecurityException} for everything else: an operation, a write, creating, registering or
 * unregistering an MBean, adding or removing an MBean as another's listener. A method not listed
 * as a read is refused, so one added to {@link MBeanServer} later is refused too until it is judged.
 *
 * <p>The caller is the subject {@link JmxPasswordAuthenticator} made, which the connector binds
 * around each call a client makes ({@code Subject.callAs}), read with {@link Subject#current()}
 * as the JDK's own {@code MBeanServerFileAccessController} does. No subject means the connector
 * is asking for itself, outside a client's call (it looks up an MBean's class loader before it
 * deserializes a call's arguments): that goes through, as with the JDK's controller. Every
 * client logs in, so every client's call has a subject.
 */
final class JmxRoleCheck implements InvocationHandler {
    /** What the monitor may call: the reads of {@link javax.management.MBeanServerConnection}. */
    private static final Set<String> READS = Set.of("getAttribute", "getAttributes", "queryNames", "queryMBeans", "getMBeanInfo",
            "getObjectInstance", "isRegistered", "getMBeanCount", "getDomains", "getDefaultDomain", "isInstanceOf",
            "addNotificationListener", "removeNotificationListener");

    private volatile MBeanServer next;

    private JmxRoleCheck() {
    }

    /** A forwarder to give {@code JMXConnectorServer.setMBeanServerForwarder}. */
    static MBeanServerForwarder forwarder() {
        return (MBeanServerForwarder) Proxy.newProxyInstance(MBeanServerForwarder.class.getClassLoader(),
                new Class<?>[] {MBeanServerForwarder.class}, new JmxRoleCheck());
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        if (method.getDeclaringClass() == Object.class) return identity(proxy, method, args);
        if (method.getDeclaringClass() == MBeanServerForwarder.class) return forwarding(method, args);
        String refusal = refusal(method);
        if (refusal != null) throw new SecurityException(refusal);
        MBeanServer target = next;
        if (target == null) throw new IllegalStateException("no MBean server to forward to yet");
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** Why the current caller may not call {@code method}; null when they may. */
    private static String refusal(Method method) {
        Subject subject = Subject.current();
        if (subject == null) return null; // the connector itself, not a client's call
        Optional<Role> role = subject.getPrincipals(JMXPrincipal.class).stream()
                .map(principal -> Role.ofUser(principal.getName())).flatMap(Optional::stream).findFirst();
        if (role.isEmpty()) return "not one of herd's users";
        if (role.get() == Role.OPERATOR) return null;
        // adding or removing an MBean as another's listener changes what that MBean receives: not a read
        boolean listenerMBean = method.getName().endsWith("NotificationListener") && method.getParameterTypes()[1] == ObjectName.class;
        if (READS.contains(method.getName()) && !listenerMBean) return null;
        return Role.MONITOR.user() + " may only read, not " + method.getName()
                + (listenerMBean ? " with an MBean as the listener" : "");
    }

    private synchronized Object forwarding(Method method, Object[] args) {
        if (method.getName().equals("getMBeanServer")) return next;
        MBeanServer server = (MBeanServer) args[0];
        if (server == null) throw new IllegalArgumentException("null MBean server");
        if (next != null) throw new IllegalStateException("the MBean server is already set");
        next = server;
        return null;
    }

    private Object identity(Object proxy, Method method, Object[] args) {
        return switch (method.getName()) {
            case "equals" -> proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            default -> "JmxRoleCheck forwarding to " + next;
        };
    }
}
