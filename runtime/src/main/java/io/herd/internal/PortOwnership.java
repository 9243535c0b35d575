package io.herd.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * Who holds the sockets that a TCP connection to an address would reach, read from Linux's /proc:
 * whether every one of them belongs to a given process (or one of its descendants).
 *
 * <p>Proxy dispatch gives each worker a loopback port found free by binding port 0 and closing
 * it, so any local process may bind that port before the worker does. A connect that succeeds
 * proves that something listens there, not what. This tells: the LISTEN sockets (state
 * {@code 0A}) in {@code /proc/net/tcp} and {@code /proc/net/tcp6} on the address's port that the
 * connection could reach — the address itself, {@code 0.0.0.0} for an IPv4 address, {@code ::}
 * (dual-stack unless IPV6_V6ONLY, which /proc does not show, so it always counts), and the
 * address's IPv4-mapped IPv6 form — and, through the {@code socket:[inode]} links in
 * {@code /proc/<pid>/fd}, which process holds each.
 *
 * <p>Cost: the tables list every TCP socket of the network namespace, which on a busy host is
 * hundreds of thousands of lines, so they are read only when asked, streamed, and a line is
 * parsed only once a plain substring test says it may be a LISTEN socket on the port. The
 * process's own fds are searched first, its descendants only for sockets not found there, and
 * every process on the host only to name the holder of a socket that is not the process's.
 *
 * <p>Races: processes exit and fds close while this reads; whatever vanishes is skipped, never an
 * error. A socket whose holder cannot be found (it closed meanwhile, lives in another pid
 * namespace, or its fds are not ours to read) is foreign, with the uid the table gives it.
 *
 * @param address   the address a connection was made to
 * @param verdict   what the check found
 * @param listeners each LISTEN socket that a connection to the address could reach
 * @param problem   why the tables could not be read ({@link Verdict#UNREADABLE}), else null
 */
public record PortOwnership(InetSocketAddress address, Verdict verdict, List<Listener> listeners, String problem) {

    /** What a check found. */
    public enum Verdict {
        /** At least one socket listens, and the process (or a descendant) holds every one. */
        OWNED,
        /** At least one listening socket is held by another process, or by none that can be found. */
        FOREIGN,
        /** No socket listens on the address. */
        NOBODY_LISTENS,
        /** /proc/net/tcp could not be read: ownership is unknown. */
        UNREADABLE
    }

    /**
     * A listening socket that could take a connection to the address.
     *
     * @param local     its local address, as the table gives it ({@code 0.0.0.0:P}, {@code [::]:P}...)
     * @param inode     its socket inode
     * @param uid       the user that created it (the table's uid column)
     * @param holderPid a process found holding it, or 0 when none was found
     * @param holder    that process's command name, made printable; empty when unknown
     * @param owned     held by the process asked about or one of its descendants
     */
    public record Listener(InetSocketAddress local, long inode, long uid, long holderPid, String holder, boolean owned) {
        /** How an operator reads it: {@code 0.0.0.0:4321 held by pid 77 (python3), uid 1000}. */
        @Override
        public String toString() {
            String who = holderPid == 0 ? "held by no process herd can see" : "held by pid " + holderPid + (holder.isEmpty() ? "" : " (" + holder + ")");
            return hostAndPort(local) + " " + who + ", uid " + uid;
        }
    }

    /** TCP_LISTEN, as the tables' {@code st} column writes it. */
    private static final int LISTEN = 0x0A;
    private static final Path TCP = Path.of("/proc/net/tcp");
    private static final Path TCP6 = Path.of("/proc/net/tcp6");
    /** The most of a foreign holder's command name a log line shows. */
    private static final int MAX_NAME = 32;

    /**
     * Reads now who holds the sockets a connection to {@code address} would reach.
     *
     * @param pid the process that should hold them (a worker's JVM)
     */
    public static PortOwnership of(InetSocketAddress address, long pid) {
        List<TableEntry> entries;
        try {
            entries = listening(address, TCP, TCP6);
        } catch (IOException e) {
            return new PortOwnership(address, Verdict.UNREADABLE, List.of(), "cannot read /proc/net/tcp*: " + e);
        }
        if (entries.isEmpty()) return new PortOwnership(address, Verdict.NOBODY_LISTENS, List.of(), null);

        Set<Long> wanted = entries.stream().map(TableEntry::inode).collect(Collectors.toSet());
        Map<Long, Long> owned;
        try {
            owned = heldByProcessOrDescendant(pid, wanted);
        } catch (IOException e) {
            // Not "held by nobody": the master out of descriptors is no proof against the process.
            return new PortOwnership(address, Verdict.UNREADABLE, List.of(), "cannot read /proc/" + pid + "/fd: " + e);
        }
        Set<Long> foreign = missing(wanted, owned);
        Map<Long, Long> others = foreign.isEmpty() ? Map.of() : holders(everyProcessBut(pid), foreign); // only to name them

        List<Listener> listeners = new ArrayList<>();
        for (TableEntry entry : entries) {
            boolean ours = owned.containsKey(entry.inode());
            long holder = ours ? owned.get(entry.inode()) : others.getOrDefault(entry.inode(), 0L);
            listeners.add(new Listener(entry.local(), entry.inode(), entry.uid(), holder, ours ? "" : commandName(holder), ours));
        }
        return new PortOwnership(address, foreign.isEmpty() ? Verdict.OWNED : Verdict.FOREIGN, List.copyOf(listeners), null);
    }

    /**
     * Whether every listener this check found is still open in the process found holding it (or,
     * if that one closed it, in the asked process or a descendant): a cheap way to see, again and
     * again, that an {@link Verdict#OWNED} port is still the process's, without reading the
     * tables. The holder's {@code /proc/<pid>/fd} is read in the kernel's order (lowest fd first)
     * and only until every listener is found: a listener opened early is found after a few links,
     * while a socket no longer held costs one {@code readlink} per open descriptor. It proves the
     * process still holds its sockets; not that they still listen, nor that no other process
     * listens beside them (SO_REUSEPORT, open only to the same user): {@link #of} tells that.
     *
     * @return false when one is not found, or not known; and for any check but an OWNED one
     */
    public boolean stillHeld(long pid) {
        if (verdict != Verdict.OWNED) return false;
        Map<Long, Set<Long>> byHolder = listeners.stream()
                .collect(Collectors.groupingBy(Listener::holderPid, Collectors.mapping(Listener::inode, Collectors.toSet())));
        try {
            for (var holder : byHolder.entrySet()) {
                Set<Long> inodes = holder.getValue();
                if (heldBy(holder.getKey(), inodes).size() == inodes.size()) continue;
                if (heldByProcessOrDescendant(pid, inodes).size() < inodes.size()) return false; // handed to another descendant, say
            }
            return true;
        } catch (IOException unreadable) {
            return false; // not known: the caller's full check says so
        }
    }

    /** The listening sockets the process does not hold. */
    public List<Listener> foreign() {
        return listeners.stream().filter(listener -> !listener.owned()).toList();
    }

    /** One phrase for a log line: who holds the port, or why that is not known. */
    public String describe() {
        String port = "port " + address.getPort();
        return switch (verdict) {
            case OWNED -> port + " is held by the process";
            case FOREIGN -> port + " is held by another process: " + foreign().stream().map(Listener::toString).collect(Collectors.joining("; "));
            case NOBODY_LISTENS -> "nothing listens on " + port;
            case UNREADABLE -> "who holds " + port + " is unknown: " + problem;
        };
    }

    /**
     * Whether a refused connection to a local port proves that nothing listens there. It does by
     * default: a listener whose accept queue is full drops the SYN, and the connect waits. But with
     * {@code net.ipv4.tcp_abort_on_overflow = 1} such a listener answers with a reset, which looks
     * the same as no listener at all. Read from /proc now; an unreadable value counts as the
     * default, 0.
     */
    public static boolean refusalProvesNobodyListens() {
        try {
            return Files.readString(ABORT_ON_OVERFLOW, StandardCharsets.US_ASCII).strip().equals("0");
        } catch (IOException | RuntimeException unreadable) {
            return true;
        }
    }

    private static final Path ABORT_ON_OVERFLOW = Path.of("/proc/sys/net/ipv4/tcp_abort_on_overflow");

    // ---- the tables ----------------------------------------------------------------------------

    /** One line of /proc/net/tcp or tcp6, as much of it as this needs. */
    record TableEntry(InetSocketAddress local, int state, long uid, long inode) {
        /** Whether a connection to {@code target} could reach this socket. */
        boolean reaches(InetSocketAddress target) {
            if (state != LISTEN || local.getPort() != target.getPort()) return false;
            InetAddress bound = local.getAddress();
            if (bound.equals(target.getAddress())) return true; // an IPv4-mapped address is parsed as IPv4: it matches here
            return bound.isAnyLocalAddress() && (bound instanceof Inet6Address || target.getAddress() instanceof Inet4Address);
        }
    }

    /** The LISTEN sockets in both tables that a connection to {@code target} could reach; a missing tcp6 (IPv6 off) is empty. */
    static List<TableEntry> listening(InetSocketAddress target, Path tcp, Path tcp6) throws IOException {
        List<TableEntry> found = new ArrayList<>();
        readTable(tcp, target, found);
        try {
            readTable(tcp6, target, found);
        } catch (NoSuchFileException noIpv6) {
            // the kernel has no IPv6: nothing can listen there
        }
        return found;
    }

    private static void readTable(Path table, InetSocketAddress target, List<TableEntry> into) throws IOException {
        // Both are in every line that matters; testing them is far cheaper than parsing each line.
        String port = ":" + HexFormat.of().withUpperCase().toHexDigits((short) target.getPort()) + " ";
        String listen = " 0A ";
        try (BufferedReader lines = Files.newBufferedReader(table, StandardCharsets.ISO_8859_1)) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (!line.contains(port) || !line.contains(listen)) continue;
                TableEntry entry = parse(line);
                if (entry != null && entry.reaches(target)) into.add(entry);
            }
        }
    }

    /**
     * Parses one table line ({@code sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...});
     * null for the header or anything malformed.
     */
    static TableEntry parse(String line) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length < 10 || !fields[0].endsWith(":")) return null;
        try {
            String local = fields[1];
            int colon = local.indexOf(':');
            if (colon < 0 || local.length() - colon - 1 != 4) return null;
            InetAddress address = InetAddress.getByAddress(addressBytes(local.substring(0, colon)));
            int port = HexFormat.fromHexDigits(local, colon + 1, local.length());
            if (fields[3].length() != 2) return null;
            int state = HexFormat.fromHexDigits(fields[3]);
            long uid = Long.parseUnsignedLong(fields[7]);
            long inode = Long.parseUnsignedLong(fields[9]);
            return new TableEntry(new InetSocketAddress(address, port), state, uid, inode);
        } catch (IllegalArgumentException | UnknownHostException malformed) {
            return null;
        }
    }

    /**
     * The kernel prints an address as 32-bit words in hex, each in the host's byte order: 127.0.0.1
     * is {@code 0100007F} on x86. 8 digits for IPv4, 32 for IPv6.
     */
    private static byte[] addressBytes(String hex) {
        if (hex.length() != 8 && hex.length() != 32) throw new IllegalArgumentException("address of " + hex.length() + " digits");
        ByteBuffer bytes = ByteBuffer.allocate(hex.length() / 2).order(ByteOrder.nativeOrder());
        for (int word = 0; word < hex.length(); word += 8) bytes.putInt(HexFormat.fromHexDigits(hex, word, word + 8));
        return bytes.array();
    }

    // ---- the holders ---------------------------------------------------------------------------

    /**
     * Which of {@code inodes} the process holds, as inode to holder pid: its own fds first, its
     * descendants' only for the rest.
     *
     * @throws IOException when the process's own fds could not be read, though it runs and is ours
     */
    private static Map<Long, Long> heldByProcessOrDescendant(long pid, Set<Long> inodes) throws IOException {
        Map<Long, Long> found = new HashMap<>();
        for (long inode : heldBy(pid, inodes)) found.put(inode, pid);
        if (found.size() < inodes.size()) found.putAll(holders(descendants(pid), missing(inodes, found)));
        return found;
    }

    /** Which of {@code inodes} each of {@code pids} holds, as inode to pid; stops once all are found. One not read holds none. */
    static Map<Long, Long> holders(LongStream pids, Set<Long> inodes) {
        Map<Long, Long> found = new HashMap<>();
        for (var each = pids.iterator(); each.hasNext() && found.size() < inodes.size(); ) {
            long pid = each.nextLong();
            try {
                for (long inode : heldBy(pid, missing(inodes, found))) found.put(inode, pid);
            } catch (IOException unreadable) {
                // only the process asked about must be read; any other is passed by
            }
        }
        return found;
    }

    /**
     * Which of {@code inodes} a process holds open; none when it is gone or another user's. Its
     * fds are read only until all are found.
     *
     * @throws IOException when its fds could not be listed for another reason: this process out of
     *                     descriptors, say
     */
    static Set<Long> heldBy(long pid, Set<Long> inodes) throws IOException {
        Set<Long> found = new HashSet<>();
        if (inodes.isEmpty()) return found;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (var each = fds.iterator(); each.hasNext() && found.size() < inodes.size(); ) {
                long inode = socketInode(each.next());
                if (inodes.contains(inode)) found.add(inode);
            }
        } catch (NoSuchFileException | AccessDeniedException | DirectoryIteratorException gone) {
            // exited (before or while it was read), or another user's: it holds nothing we can see
        }
        return found;
    }

    /** The inode behind a {@code socket:[inode]} link; -1 for any other fd, or one closed since it was listed. */
    private static long socketInode(Path fd) {
        try {
            String target = Files.readSymbolicLink(fd).toString();
            if (target.startsWith("socket:[") && target.endsWith("]")) {
                return Long.parseUnsignedLong(target, "socket:[".length(), target.length() - 1, 10);
            }
        } catch (IOException | RuntimeException closedMeanwhile) {
            // nothing to see
        }
        return -1;
    }

    private static LongStream descendants(long pid) {
        return ProcessHandle.of(pid).stream().flatMap(ProcessHandle::descendants).mapToLong(ProcessHandle::pid);
    }

    private static LongStream everyProcessBut(long pid) {
        return ProcessHandle.allProcesses().mapToLong(ProcessHandle::pid).filter(other -> other != pid);
    }

    private static Set<Long> missing(Set<Long> wanted, Map<Long, Long> found) {
        Set<Long> rest = new HashSet<>(wanted);
        rest.removeAll(found.keySet());
        return rest;
    }

    /**
     * A process's command name, for a log line. It is the process's own choice (prctl can set it
     * to anything), so only printable ASCII is kept: it cannot forge a line of its own in herd's log.
     */
    private static String commandName(long pid) {
        if (pid == 0) return "";
        try {
            String name = Files.readString(Path.of("/proc", Long.toString(pid), "comm"), StandardCharsets.ISO_8859_1).strip();
            StringBuilder printable = new StringBuilder();
            for (int i = 0; i < name.length() && printable.length() < MAX_NAME; i++) {
                char c = name.charAt(i);
                printable.append(c >= 0x20 && c < 0x7f ? c : '?');
            }
            return printable.toString();
        } catch (IOException | RuntimeException gone) {
            return "";
        }
    }

    private static String hostAndPort(InetSocketAddress address) {
        InetAddress host = address.getAddress();
        String written = host instanceof Inet6Address && host.isAnyLocalAddress() ? "::" : host.getHostAddress();
        return (host instanceof Inet6Address ? "[" + written + "]" : written) + ":" + address.getPort();
    }
}
