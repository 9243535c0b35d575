package io.herd.ipc;

import java.io.FileDescriptor;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;

/**
 * Every use of JDK internals, in one place: turning a {@link SocketChannel} into its file
 * descriptor number (master side) and a passed descriptor back into a real SocketChannel (worker
 * side), built exactly as the JDK's own {@code ServerSocketChannel.accept()} builds one.
 *
 * <p>Needs {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED}, which herd puts on every JVM
 * it starts ({@link #JVM_FLAGS}). {@link #check()} says so plainly when it is missing.
 */
public final class JdkSockets {
    /** The JVM flags without which this class (and {@link Unix}, quietly) cannot work. */
    public static final java.util.List<String> JVM_FLAGS = java.util.List.of(
            "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED");

    /**
     * The method handles into the JDK, made the first time one is needed: a worker does that on
     * its IPC reader thread, so that its app's thread does not wait for them before it is ready.
     */
    private static final class Internals {
        private static final MethodHandle GET_FD_VAL;
        private static final MethodHandle NEW_FD;
        private static final MethodHandle REMOTE_ADDRESS;
        private static final MethodHandle NEW_CHANNEL;
        private static final Throwable UNAVAILABLE;

        static {
            MethodHandle getFdVal = null, newFd = null, remoteAddress = null, newChannel = null;
            Throwable unavailable = null;
            try {
                // Everything a handed-off connection needs is made ready here (on a worker's reader
                // thread, before its first read) rather than when the first one arrives: Net's
                // initialization, the selector provider, and handles already of the types they are
                // called with (invoke on any other type adapts the handle at that call).
                ClassLoader platform = SelectorProvider.class.getClassLoader();
                Class<?> selChImpl = Class.forName("sun.nio.ch.SelChImpl", false, platform);
                Class<?> ioUtil = Class.forName("sun.nio.ch.IOUtil", false, platform);
                Class<?> net = Class.forName("sun.nio.ch.Net", true, platform);
                Class<?> channelImpl = Class.forName("sun.nio.ch.SocketChannelImpl", false, platform);
                MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(channelImpl, MethodHandles.lookup());
                getFdVal = lookup.findVirtual(selChImpl, "getFDVal", MethodType.methodType(int.class))
                        .asType(MethodType.methodType(int.class, SocketChannel.class));
                newFd = lookup.findStatic(ioUtil, "newFD", MethodType.methodType(FileDescriptor.class, int.class));
                remoteAddress = lookup.findStatic(net, "remoteAddress",
                        MethodType.methodType(InetSocketAddress.class, FileDescriptor.class));
                newChannel = lookup.findConstructor(channelImpl, MethodType.methodType(void.class,
                        SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, SocketAddress.class))
                        .asType(MethodType.methodType(SocketChannel.class,
                                SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, SocketAddress.class));
                SelectorProvider.provider();
            } catch (ReflectiveOperationException | RuntimeException e) {
                unavailable = e;
            }
            GET_FD_VAL = getFdVal;
            NEW_FD = newFd;
            REMOTE_ADDRESS = remoteAddress;
            NEW_CHANNEL = newChannel;
            UNAVAILABLE = unavailable;
        }
    }

    private JdkSockets() {
    }

    /**
     * Throws with the fix in the message when this JVM was started without herd's flags, or its
     * JDK's internals are not the ones this class knows.
     */
    public static void check() {
        if (Internals.UNAVAILABLE != null) throw unavailable(Internals.UNAVAILABLE);
    }

    /**
     * The cheap half of {@link #check()}, for a worker before it is ready: throws the same when
     * herd's {@code --add-opens} flag is missing, without making the method handles yet.
     */
    public static void checkOpened() {
        if (!Object.class.getModule().isOpen("sun.nio.ch", JdkSockets.class.getModule())) {
            throw unavailable(new IllegalAccessException("java.base does not open sun.nio.ch to " + JdkSockets.class.getModule()));
        }
    }

    private static IllegalStateException unavailable(Throwable why) {
        return new IllegalStateException("herd cannot reach the JDK's socket internals on Java "
                + Runtime.version() + ": start this JVM with " + String.join(" ", JVM_FLAGS), why);
    }

    /** The descriptor number behind a JDK socket channel. The channel keeps owning it. */
    public static int fdOf(SocketChannel channel) {
        check();
        try {
            return (int) Internals.GET_FD_VAL.invokeExact(channel);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot read the descriptor of " + channel, t);
        }
    }

    /**
     * Wraps a connected TCP socket's descriptor, received from the master, as a blocking
     * SocketChannel that owns it from now on. {@code getRemoteAddress()} is the real client.
     */
    public static SocketChannel channelOf(int fd, int family) throws java.io.IOException {
        check();
        try {
            FileDescriptor descriptor = (FileDescriptor) Internals.NEW_FD.invokeExact(fd);
            SocketAddress remote = (InetSocketAddress) Internals.REMOTE_ADDRESS.invokeExact(descriptor);
            ProtocolFamily protocol = family == 6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
            return (SocketChannel) Internals.NEW_CHANNEL.invokeExact(SelectorProvider.provider(), protocol, descriptor, remote);
        } catch (java.io.IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cannot wrap descriptor " + fd + " as a SocketChannel", t);
        }
    }

    /** 4 or 6: the family the worker needs to rebuild the channel. */
    public static int familyOf(SocketChannel channel) throws java.io.IOException {
        SocketAddress local = channel.getLocalAddress();
        return local instanceof InetSocketAddress inet && inet.getAddress() instanceof java.net.Inet6Address ? 6 : 4;
    }

    // ---- Listening sockets from a descriptor (socket activation; a shared listener) ------------

    /**
     * The handles for listening sockets, made the first time one is needed: only a master that
     * systemd passed sockets to (or, later, a worker given a listening socket) needs them.
     */
    private static final class ServerInternals {
        private static final MethodHandle GET_FD_VAL;
        private static final MethodHandle NEW_SERVER_CHANNEL;
        private static final Throwable UNAVAILABLE;

        static {
            MethodHandle getFdVal = null, newServerChannel = null;
            Throwable unavailable = null;
            try {
                ClassLoader platform = SelectorProvider.class.getClassLoader();
                Class<?> selChImpl = Class.forName("sun.nio.ch.SelChImpl", false, platform);
                Class<?> serverImpl = Class.forName("sun.nio.ch.ServerSocketChannelImpl", false, platform);
                MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(serverImpl, MethodHandles.lookup());
                getFdVal = lookup.findVirtual(selChImpl, "getFDVal", MethodType.methodType(int.class))
                        .asType(MethodType.methodType(int.class, ServerSocketChannel.class));
                // The constructor System.inheritedChannel() uses: (provider, family, fd, bound); with
                // bound true it reads the local address (getsockname) once, there.
                newServerChannel = lookup.findConstructor(serverImpl, MethodType.methodType(void.class,
                                SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, boolean.class))
                        .asType(MethodType.methodType(ServerSocketChannel.class,
                                SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, boolean.class));
            } catch (ReflectiveOperationException | RuntimeException e) {
                unavailable = e;
            }
            GET_FD_VAL = getFdVal;
            NEW_SERVER_CHANNEL = newServerChannel;
            UNAVAILABLE = unavailable;
        }

        /** Throws, as {@link #check()} does, when the JDK's listening-channel internals are out of reach. */
        static void check() {
            JdkSockets.check();
            if (UNAVAILABLE != null) throw unavailable(UNAVAILABLE);
        }
    }

    /** The descriptor number behind a JDK listening channel. The channel keeps owning it. */
    public static int fdOf(ServerSocketChannel channel) {
        ServerInternals.check();
        try {
            return (int) ServerInternals.GET_FD_VAL.invokeExact(channel);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot read the descriptor of " + channel, t);
        }
    }

    /**
     * Wraps the descriptor of a bound, listening TCP socket this process got from elsewhere
     * (systemd's {@code LISTEN_FDS}, or {@code SCM_RIGHTS} from another process) as a blocking
     * {@link ServerSocketChannel} that owns it from now on: {@code accept()},
     * {@code getLocalAddress()}, non-blocking mode and Selectors work as on one the JDK opened.
     *
     * <p>The caller checks first that it is one ({@code SO_ACCEPTCONN}, {@code SO_TYPE},
     * {@code SO_DOMAIN} through {@link Unix#intSocketOption}); the JDK does not. Closing the
     * channel closes this process's descriptor only: the JDK never calls shutdown(2) on a
     * listening socket, so a copy another process holds (systemd's) keeps listening.
     *
     * @param family {@link StandardProtocolFamily#INET} or {@link StandardProtocolFamily#INET6}:
     *               the socket's own (SO_DOMAIN)
     */
    public static ServerSocketChannel serverChannelOf(int fd, ProtocolFamily family) throws java.io.IOException {
        ServerInternals.check();
        try {
            FileDescriptor descriptor = (FileDescriptor) Internals.NEW_FD.invokeExact(fd);
            return (ServerSocketChannel) ServerInternals.NEW_SERVER_CHANNEL.invokeExact(SelectorProvider.provider(), family, descriptor, true);
        } catch (java.io.IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cannot wrap descriptor " + fd + " as a ServerSocketChannel", t);
        }
    }
}
