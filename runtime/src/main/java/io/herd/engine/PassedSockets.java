package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.ConfigException;
import io.herd.ipc.JdkSockets;
import io.herd.ipc.Unix;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The listening sockets systemd passed to this process (socket activation): read as
 * sd_listen_fds(3) reads them, checked, and given to the apps they belong to.
 *
 * <p>{@code LISTEN_PID} must be this process, or every socket is ignored (they were meant for
 * another process: a shell script in between that did not exec, say). {@code LISTEN_FDS=n} means
 * descriptors 3 to 3+n-1, {@code LISTEN_FDNAMES} their names, colon-separated (systemd's
 * {@code FileDescriptorName=}). Each must be a listening TCP socket (SO_ACCEPTCONN, SOCK_STREAM,
 * AF_INET or AF_INET6); anything else refuses the start, naming the descriptor and what it is.
 *
 * <p>A socket belongs to the app its name names (to the one listen address such an app has, or,
 * with several, the one equal to the socket's address); a socket whose name is no app's belongs to
 * the app with a listen address equal to the socket's. One that belongs to no app refuses the
 * start: behind a socket unit nobody serves, clients would wait forever.
 *
 * <p>The sockets are shared with systemd, which keeps its own descriptors: herd never calls
 * shutdown(2) on them (that would stop them listening for systemd too), only close(2) on its own
 * copy. A socket whose app is removed at run time is kept open, unregistered, for the next app
 * on its address: systemd still listens there, so herd could not bind it again.
 */
final class PassedSockets implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PassedSockets.class.getName());
    /** SD_LISTEN_FDS_START: the first passed descriptor. */
    static final int FIRST_FD = 3;
    /** After this many bad descriptors the rest are not looked at: the message is long enough. */
    private static final int MAX_PROBLEMS = 20;

    /**
     * One passed socket.
     *
     * @param v6      an AF_INET6 socket (its address may still be IPv4: an IPv4-mapped one)
     * @param v6only  an IPv6 socket that takes no IPv4 connections (IPV6_V6ONLY, BindIPv6Only=ipv6-only)
     */
    record Passed(int fd, String name, InetSocketAddress address, boolean v6, boolean v6only, ServerSocketChannel channel) {
        /** How log lines and errors name it: {@code fd 3 (name "hello", 127.0.0.1:8080)}. */
        @Override
        public String toString() {
            return "fd " + fd + " (name \"" + name + "\", " + hostAndPort(address) + (v6only ? " IPv6 only" : "") + ")";
        }

        /** Whether a connection the configured listen address would take reaches this socket. */
        boolean listensOn(InetSocketAddress configured) {
            if (configured.getPort() != address.getPort()) return false;
            InetAddress have = address.getAddress();
            InetAddress want = configured.getAddress();
            if (have.equals(want)) return true;
            // A dual-stack [::] socket (systemd's default for ListenStream=PORT) takes what 0.0.0.0 would.
            return have instanceof Inet6Address && have.isAnyLocalAddress() && !v6only && want.isAnyLocalAddress();
        }
    }

    private final List<Passed> sockets;
    /** Which passed socket each app holds now; a socket in none is free. */
    private final Map<Passed, String> holders = new LinkedHashMap<>();

    /** These sockets, checked already: {@link #fromEnvironment} makes them in production, tests from their own. */
    PassedSockets(List<Passed> sockets) {
        this.sockets = List.copyOf(sockets);
    }

    /** No socket passed. */
    static PassedSockets none() {
        return new PassedSockets(List.of());
    }

    /**
     * The sockets passed to process {@code pid} in {@code environment} (this process's, in
     * production), each checked, made close-on-exec and wrapped as a ServerSocketChannel.
     *
     * @throws ConfigException naming each variable or descriptor that is wrong
     */
    static PassedSockets fromEnvironment(Map<String, String> environment, long pid) throws ConfigException {
        String listenPid = environment.get("LISTEN_PID");
        String listenFds = environment.get("LISTEN_FDS");
        if (listenFds == null) return none();
        if (listenPid == null) {
            LOG.log(Level.WARNING, "LISTEN_FDS is set without LISTEN_PID: its sockets are ignored, as sd_listen_fds(3) ignores them");
            return none();
        }
        long forPid = number("LISTEN_PID", listenPid, Long.MAX_VALUE);
        if (forPid != pid) {
            LOG.log(Level.WARNING, "LISTEN_PID {0} is not this process ({1}): the sockets in LISTEN_FDS were passed to another process; "
                    + "none is adopted, every app binds its own", Long.toString(forPid), Long.toString(pid));
            return none();
        }
        int count = (int) number("LISTEN_FDS", listenFds, Integer.MAX_VALUE - FIRST_FD);
        List<String> names = names(environment.get("LISTEN_FDNAMES"), count);

        List<String> problems = new ArrayList<>();
        List<Passed> checked = new ArrayList<>();
        for (int i = 0; i < count && problems.size() < MAX_PROBLEMS; i++) {
            int fd = FIRST_FD + i;
            String name = printable(names.get(i));
            try {
                Passed socket = inspect(fd, name);
                if (socket == null) problems.add(describeNonSocket(fd, name));
                else checked.add(socket);
            } catch (IOException e) {
                problems.add("LISTEN_FDS: fd " + fd + " (name \"" + name + "\") cannot be used: " + e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            closeAll(checked);
            throw new ConfigException(String.join("\n", problems));
        }
        return new PassedSockets(checked);
    }

    private static long number(String variable, String value, long max) throws ConfigException {
        try {
            long number = Long.parseLong(value);
            if (number >= 0 && number <= max) return number;
        } catch (NumberFormatException notANumber) {
            // said below
        }
        throw new ConfigException(variable + "=" + printable(value) + " is not a number from 0 to " + max + " (socket activation: see sd_listen_fds(3))");
    }

    private static List<String> names(String listenFdNames, int count) throws ConfigException {
        if (listenFdNames == null) return java.util.Collections.nCopies(count, "unknown"); // sd_listen_fds_with_names' name then
        List<String> names = List.of(listenFdNames.split(":", -1));
        if (count == 0 && listenFdNames.isEmpty()) return List.of();
        if (names.size() != count) {
            throw new ConfigException("LISTEN_FDNAMES names " + names.size() + " sockets, LISTEN_FDS passes " + count
                    + ": LISTEN_FDNAMES=" + printable(listenFdNames));
        }
        return names;
    }

    /**
     * The passed socket on {@code fd}, checked and made close-on-exec; null when {@code fd} is not
     * a socket (or not open).
     *
     * @throws IOException naming what kind of socket it is, when it is not a listening TCP one
     */
    private static Passed inspect(int fd, String name) throws IOException {
        Unix.SocketKind kind = Unix.socketKind(fd);
        if (kind == null) return null;
        Unix.setCloseOnExec(fd); // as sd_listen_fds does: no worker inherits it
        int domain = kind.domain();
        if (domain != Unix.AF_INET && domain != Unix.AF_INET6) {
            throw new IOException("it is " + familyName(domain) + " socket; herd serves TCP: ListenStream= must be an address and port, or a port");
        }
        if (kind.type() != Unix.SOCK_STREAM) {
            throw new IOException("it is " + typeName(kind.type()) + " socket, not a stream (TCP) one: use ListenStream=, not ListenDatagram=");
        }
        if (!kind.listening()) {
            throw new IOException("it is a TCP socket that does not listen (a connection, or one never listen()ed): "
                    + "herd adopts listening sockets only (Accept=no)");
        }
        boolean v6 = domain == Unix.AF_INET6;
        boolean v6only = v6 && Unix.intSocketOption(fd, Unix.IPPROTO_IPV6, Unix.IPV6_V6ONLY) != 0;
        ServerSocketChannel channel = JdkSockets.serverChannelOf(fd, v6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        try {
            return new Passed(fd, name, (InetSocketAddress) channel.getLocalAddress(), v6, v6only, channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** What a descriptor that is no socket is: {@code /dev/null}, {@code pipe:[1234]}, or not open. */
    private static String describeNonSocket(int fd, String name) {
        String what;
        try {
            what = "it is " + printable(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString());
        } catch (IOException | RuntimeException notOpen) {
            what = "it is not open";
        }
        return "LISTEN_FDS: fd " + fd + " (name \"" + name + "\") is not a socket: " + what;
    }

    private static String familyName(int domain) {
        return switch (domain) {
            case 1 -> "a Unix-domain (AF_UNIX)";
            case 16 -> "a netlink (AF_NETLINK)";
            case 17 -> "a packet (AF_PACKET)";
            default -> "an address family " + domain;
        };
    }

    private static String typeName(int type) {
        return switch (type) {
            case Unix.SOCK_DGRAM -> "a datagram (SOCK_DGRAM, UDP)";
            case 3 -> "a raw (SOCK_RAW)";
            case 5 -> "a SOCK_SEQPACKET";
            default -> "a type " + type;
        };
    }

    boolean isEmpty() {
        return sockets.isEmpty();
    }

    /**
     * Claims, for each of {@code app}'s listen addresses, the free passed socket that belongs
     * there; addresses without one are not in the map.
     *
     * @param appNames every app's name (the app's included): a socket named after another app is
     *                 that app's, whatever its address
     */
    synchronized Map<InetSocketAddress, Passed> claim(AppConfig app, Set<String> appNames) {
        Map<InetSocketAddress, Passed> claimed = new LinkedHashMap<>();
        for (InetSocketAddress address : app.listen()) {
            for (Passed socket : sockets) {
                if (!holders.containsKey(socket) && belongs(socket, app, address, appNames)) {
                    holders.put(socket, app.name());
                    claimed.put(address, socket);
                    break;
                }
            }
        }
        return claimed;
    }

    private static boolean belongs(Passed socket, AppConfig app, InetSocketAddress address, Set<String> appNames) {
        if (socket.name().equals(app.name())) return app.listen().size() == 1 || socket.listensOn(address);
        return !appNames.contains(socket.name()) && socket.listensOn(address);
    }

    /**
     * Fails naming each passed socket no app claimed: a socket unit listening where no app serves
     * would have its clients wait forever.
     */
    synchronized void checkEveryOneClaimed(Collection<AppConfig> apps) throws ConfigException {
        List<String> problems = new ArrayList<>();
        for (Passed socket : sockets) {
            if (holders.containsKey(socket)) continue;
            String listens = apps.stream().map(app -> "app." + app.name() + ".listen = "
                    + app.listen().stream().map(PassedSockets::hostAndPort).collect(Collectors.joining(", "))).collect(Collectors.joining("; "));
            String named = apps.stream().anyMatch(app -> app.name().equals(socket.name()))
                    ? "app " + socket.name() + " has several listen addresses and none is " + hostAndPort(socket.address())
                            + ", or each has its socket already"
                    : "no app is named \"" + socket.name() + "\", and no app's listen address is " + hostAndPort(socket.address());
            problems.add("LISTEN_FDS: " + socket + ", passed by systemd, belongs to no app: " + named + " (" + listens
                    + "). Name it after its app (FileDescriptorName=) or listen where an app does.");
        }
        if (!problems.isEmpty()) throw new ConfigException(String.join("\n", problems));
    }

    /** Gives back the sockets of an app that stopped, for the next app on their addresses; still open. */
    synchronized void release(Collection<ServerSocketChannel> channels) {
        holders.keySet().removeIf(socket -> channels.contains(socket.channel()));
    }

    /** Closes this process's descriptors (close(2), never shutdown(2)): systemd's keep listening. */
    @Override
    public void close() {
        closeAll(sockets);
    }

    private static void closeAll(List<Passed> sockets) {
        for (Passed socket : sockets) {
            try {
                socket.channel().close();
            } catch (IOException ignored) {
                // closing our copy only: nothing to do about it
            }
        }
    }

    /** Environment values are anyone's: only printable ASCII goes into a log line or an error. */
    private static String printable(String text) {
        StringBuilder printable = new StringBuilder();
        for (int i = 0; i < text.length() && printable.length() < 256; i++) {
            char c = text.charAt(i);
            printable.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return printable.toString();
    }

    static String hostAndPort(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (address.getAddress() instanceof Inet6Address ? "[" + (address.getAddress().isAnyLocalAddress() ? "::" : host) + "]" : host)
                + ":" + address.getPort();
    }
}
