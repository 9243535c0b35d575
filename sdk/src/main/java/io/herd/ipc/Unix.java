package io.herd.ipc;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Every native call herd makes, in one place: libc's socket calls through the FFM API.
 *
 * <p>herd needs what the JDK does not offer: {@code SOCK_SEQPACKET} Unix-domain sockets (one
 * message per read, so a passed file descriptor can never be split from its message) and
 * {@code sendmsg}/{@code recvmsg} with an {@code SCM_RIGHTS} control message. The struct layouts
 * are those of Linux on 64-bit machines. Methods return what the call returned and throw
 * {@link IOException} with the errno's name when it failed; {@code EINTR} is retried here.
 */
public final class Unix {
    public static final int AF_UNIX = 1;
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1;
    public static final int SCM_RIGHTS = 1;
    public static final int SO_PEERCRED = 17;
    public static final int SHUT_RDWR = 2;
    public static final int MSG_CTRUNC = 0x8;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    public static final short POLLIN = 0x1;

    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    /** sendmsg: the sender has too many descriptors in flight on Unix sockets already (nothing was sent). */
    public static final int ETOOMANYREFS = 109;

    /** {@code struct iovec}. */
    public static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"), JAVA_LONG.withName("iov_len"));
    /** {@code struct msghdr}, with its padding made explicit. */
    public static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"), JAVA_INT.withName("msg_namelen"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"), JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"), JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"), MemoryLayout.paddingLayout(4));
    /** {@code struct cmsghdr} followed by one int: CMSG_SPACE(sizeof(int)) is 24 bytes. */
    public static final StructLayout CMSG_ONE_FD = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"), JAVA_INT.withName("cmsg_level"), JAVA_INT.withName("cmsg_type"),
            JAVA_INT.withName("fd"), MemoryLayout.paddingLayout(4));
    /** CMSG_LEN(sizeof(int)). */
    public static final long CMSG_LEN_ONE_FD = 20;
    /**
     * {@code struct cmsghdr} alone: what every control message starts with, whatever follows it.
     * Its size is CMSG_LEN(0); its data starts right after it, and the next header at the next
     * multiple of 8 (CMSG_ALIGN).
     */
    public static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"), JAVA_INT.withName("cmsg_level"), JAVA_INT.withName("cmsg_type"));
    /** The most descriptors Linux passes in one message (include/net/scm.h); sendmsg refuses more. */
    public static final int SCM_MAX_FD = 253;
    /** {@code struct ucred}. */
    public static final StructLayout UCRED = MemoryLayout.structLayout(
            JAVA_INT.withName("pid"), JAVA_INT.withName("uid"), JAVA_INT.withName("gid"));
    /** {@code struct sockaddr_un}. */
    public static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sun_family"), MemoryLayout.sequenceLayout(108, JAVA_BYTE).withName("sun_path"));
    public static final int SUN_PATH_MAX = 107;

    public static final Field MSG_NAME = new Field(MSGHDR, "msg_name");
    public static final Field MSG_IOV = new Field(MSGHDR, "msg_iov");
    public static final Field MSG_IOVLEN = new Field(MSGHDR, "msg_iovlen");
    public static final Field MSG_CONTROL = new Field(MSGHDR, "msg_control");
    public static final Field MSG_CONTROLLEN = new Field(MSGHDR, "msg_controllen");
    public static final Field MSG_FLAGS = new Field(MSGHDR, "msg_flags");
    public static final Field IOV_BASE = new Field(IOVEC, "iov_base");
    public static final Field IOV_LEN = new Field(IOVEC, "iov_len");
    public static final Field CMSG_LEN = new Field(CMSG_ONE_FD, "cmsg_len");
    public static final Field CMSG_LEVEL = new Field(CMSG_ONE_FD, "cmsg_level");
    public static final Field CMSG_TYPE = new Field(CMSG_ONE_FD, "cmsg_type");
    public static final Field CMSG_FD = new Field(CMSG_ONE_FD, "fd");
    private static final Field CMSGHDR_LEN = new Field(CMSGHDR, "cmsg_len");
    private static final Field CMSGHDR_LEVEL = new Field(CMSGHDR, "cmsg_level");
    private static final Field CMSGHDR_TYPE = new Field(CMSGHDR, "cmsg_type");

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final Field ERRNO = new Field(CALL_STATE, "errno");

    /*
     * libc's functions, each group linked the first time one of its functions is called (its
     * holder class is initialized then). Linking is what a worker spends most of its start-up on
     * (a first downcall costs tens of milliseconds, every other shape a few more), and a worker
     * needs only socket, connect and sendmsg/recvmsg to become ready: the listening side is the
     * master's. Functions of one shape share a group, as they share the code the JDK generates
     * for a shape.
     */

    /** socket(2). */
    private static final class SocketCall {
        static final MethodHandle SOCKET = function("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
    }

    /** The calls that take a socket address: (int, const struct sockaddr *, socklen_t) -> int. */
    private static final class AddressCalls {
        static final MethodHandle CONNECT = function("connect", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle BIND = function("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    }

    /**
     * sendmsg(2) and recvmsg(2): (int, struct msghdr *, int) -> ssize_t, linked as returning a C
     * int, which makes them connect's shape, so a worker links two shapes, not three. That reads
     * the low half of the 64-bit result register, which holds the whole result here: a message is
     * at most a few hundred bytes, and -1 is -1 in either width.
     */
    private static final class MessageCalls {
        static final MethodHandle SENDMSG = function("sendmsg", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle RECVMSG = function("recvmsg", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    }

    /** close(2). */
    private static final class CloseCall {
        static final MethodHandle CLOSE = function("close", JAVA_INT, JAVA_INT);
    }

    /** What only the master calls: listening for a worker, and ending a channel. */
    private static final class MasterCalls {
        static final MethodHandle LISTEN = function("listen", JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle SHUTDOWN = function("shutdown", JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle ACCEPT4 = function("accept4", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        static final MethodHandle GETSOCKOPT = function("getsockopt", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        static final MethodHandle POLL = function("poll", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    }

    /** strerror(3), for error messages only. */
    private static final class Strerror {
        static final MethodHandle STRERROR = LINKER.downcallHandle(LIBC.find("strerror").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** sysconf(3)'s two answers the master's process statistics need. */
    private static final class Sysconf {
        static final MethodHandle SYSCONF = LINKER.downcallHandle(LIBC.find("sysconf").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        static final long CLOCK_TICKS = sysconf(2 /* _SC_CLK_TCK */, 100);
        static final long PAGE_SIZE = sysconf(30 /* _SC_PAGESIZE */, 4096);

        private static long sysconf(int name, long fallback) {
            try {
                long value = (long) SYSCONF.invokeExact(name);
                return value > 0 ? value : fallback;
            } catch (Throwable t) {
                return fallback;
            }
        }
    }

    private Unix() {
    }

    private static MethodHandle function(String name, MemoryLayout result, MemoryLayout... args) {
        MemorySegment address = LIBC.find(name).orElse(null);
        if (address == null) throw new UnsatisfiedLinkError("libc has no " + name);
        return LINKER.downcallHandle(address, FunctionDescriptor.of(result, args), Linker.Option.captureCallState("errno"));
    }

    /**
     * One field of a C struct, read and written at its offset: what the struct layout's
     * VarHandle would do, without the method handles a VarHandle spins when it is made (some
     * milliseconds each, at start-up, for a worker that is about to say it is ready).
     */
    public static final class Field {
        private final long offset;
        private final long size;

        /**
         * The member {@code name} of {@code struct}, found by adding up the sizes of the members
         * before it: the structs here spell out their padding, so that is its offset (a layout
         * path would find the same, at the cost of a few milliseconds of set-up).
         */
        Field(StructLayout struct, String name) {
            long at = 0;
            for (MemoryLayout member : struct.memberLayouts()) {
                if (name.equals(member.name().orElse(null))) {
                    this.offset = at;
                    this.size = member.byteSize();
                    return;
                }
                at += member.byteSize();
            }
            throw new IllegalArgumentException(struct + " has no member " + name);
        }

        /** Writes an integer field (int or long) of the struct at {@code base}. */
        public void set(MemorySegment segment, long base, long value) {
            if (size == Integer.BYTES) segment.set(JAVA_INT, base + offset, (int) value);
            else segment.set(JAVA_LONG, base + offset, value);
        }

        /**
         * Writes a pointer field of the struct at {@code base}, as the 64-bit number it is here
         * (ADDRESS's own accessor adapts a VarHandle the first time, milliseconds at start-up).
         */
        public void set(MemorySegment segment, long base, MemorySegment address) {
            segment.set(JAVA_LONG, base + offset, address.address());
        }

        /** Reads an integer field (int or long) of the struct at {@code base}. */
        public long get(MemorySegment segment, long base) {
            return size == Integer.BYTES ? segment.get(JAVA_INT, base + offset) : segment.get(JAVA_LONG, base + offset);
        }
    }

    /** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
    public static long clockTicks() {
        return Sysconf.CLOCK_TICKS;
    }

    /** The memory page size, the unit of /proc/<pid>/statm. */
    public static long pageSize() {
        return Sysconf.PAGE_SIZE;
    }

    /** Scratch memory for one thread's calls: the errno capture area. */
    public static MemorySegment callState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    public static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    public static IOException error(String call, MemorySegment callState) {
        return error(call, errno(callState));
    }

    public static IOException error(String call, int errno) {
        return new UnixException(call, errno, describe(errno));
    }

    private static String describe(int errno) {
        try {
            MemorySegment text = (MemorySegment) Strerror.STRERROR.invokeExact(errno);
            return text.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /** An IOException that remembers the errno, so callers can tell EAGAIN from a broken channel. */
    public static final class UnixException extends IOException {
        private final int errno;

        UnixException(String call, int errno, String text) {
            super(call + ": " + text + " (errno " + errno + ")");
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    /**
     * Calls a libc function that returns -1 and sets errno on failure, retrying EINTR. For the
     * master's calls, made once per socket; the per-message calls below use invokeExact on memory
     * the calling thread prepared.
     */
    private static long call(String what, MethodHandle function, Object... args) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = callState(arena);
            Object[] withState = new Object[args.length + 1];
            withState[0] = state;
            System.arraycopy(args, 0, withState, 1, args.length);
            while (true) {
                long result = ((Number) function.invokeWithArguments(withState)).longValue();
                if (result >= 0) return result;
                int errno = errno(state);
                if (errno != EINTR) throw error(what, errno);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(what, t);
        }
    }

    /*
     * socket and connect are what a worker calls before it is ready, and are called with
     * invokeExact: call()'s invokeWithArguments spins argument-spreading code the first time.
     */

    public static int socketSeqPacket() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = callState(arena);
            while (true) {
                int fd = (int) SocketCall.SOCKET.invokeExact(state, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                if (fd >= 0) return fd;
                if (errno(state) != EINTR) throw error("socket", state);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("socket", t);
        }
    }

    /** A SOCK_SEQPACKET socket connected to {@code path}; nothing is left open when it cannot connect. */
    public static int connectSeqPacket(Path path) throws IOException {
        int fd = socketSeqPacket();
        try {
            connect(fd, path);
            return fd;
        } catch (IOException e) {
            close(fd);
            throw e;
        }
    }

    public static MemorySegment sockaddr(Arena arena, Path path) throws IOException {
        byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length > SUN_PATH_MAX) {
            throw new IOException("Unix socket path longer than " + SUN_PATH_MAX + " bytes: " + path);
        }
        MemorySegment address = arena.allocate(SOCKADDR_UN);
        address.set(JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(bytes, 0, address, JAVA_BYTE, 2, bytes.length);
        return address;
    }

    public static void bind(int fd, Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            call("bind " + path, AddressCalls.BIND, fd, sockaddr(arena, path), (int) SOCKADDR_UN.byteSize());
        }
    }

    public static void listen(int fd, int backlog) throws IOException {
        call("listen", MasterCalls.LISTEN, fd, backlog);
    }

    public static int accept(int fd) throws IOException {
        return (int) call("accept4", MasterCalls.ACCEPT4, fd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
    }

    public static void connect(int fd, Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = callState(arena);
            MemorySegment address = sockaddr(arena, path);
            while (true) {
                int result = (int) AddressCalls.CONNECT.invokeExact(state, fd, address, (int) SOCKADDR_UN.byteSize());
                if (result >= 0) return;
                if (errno(state) != EINTR) throw error("connect ".concat(path.toString()), state);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("connect", t);
        }
    }

    /** Waits until {@code fd} is readable (or hung up); false when {@code timeoutMillis} passed first. */
    public static boolean pollReadable(int fd, int timeoutMillis) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = arena.allocate(8, 4);
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, POLLIN);
            return call("poll", MasterCalls.POLL, pollfd, 1L, timeoutMillis) > 0;
        }
    }

    /** The pid of the process at the other end of a connected Unix socket (SO_PEERCRED). */
    public static int peerPid(int fd) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cred = arena.allocate(UCRED);
            MemorySegment length = arena.allocate(JAVA_INT);
            length.set(JAVA_INT, 0, (int) UCRED.byteSize());
            call("getsockopt(SO_PEERCRED)", MasterCalls.GETSOCKOPT, fd, SOL_SOCKET, SO_PEERCRED, cred, length);
            return cred.get(JAVA_INT, 0);
        }
    }

    /** sendmsg(2) on prepared memory; returns the byte count, or -errno. */
    public static long sendmsg(MemorySegment state, int fd, MemorySegment msghdr, int flags) {
        try {
            while (true) {
                long n = (int) MessageCalls.SENDMSG.invokeExact(state, fd, msghdr, flags);
                if (n >= 0) return n;
                int errno = errno(state);
                if (errno != EINTR) return -errno;
            }
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** recvmsg(2) on prepared memory; returns the byte count (0 at end of stream), or -errno. */
    public static long recvmsg(MemorySegment state, int fd, MemorySegment msghdr, int flags) {
        try {
            while (true) {
                long n = (int) MessageCalls.RECVMSG.invokeExact(state, fd, msghdr, flags);
                if (n >= 0) return n;
                int errno = errno(state);
                if (errno != EINTR) return -errno;
            }
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static final int[] NO_FDS = {};

    /** CMSG_SPACE(n * sizeof(int)): the room n descriptors take in a control buffer, padding included. */
    public static long cmsgSpace(int fds) {
        return align(CMSGHDR.byteSize() + (long) fds * Integer.BYTES);
    }

    /** CMSG_ALIGN: control messages start on multiples of 8 bytes. */
    private static long align(long length) {
        return (length + 7) & ~7L;
    }

    /**
     * Every descriptor an {@code SCM_RIGHTS} control message brought, from the control buffer
     * recvmsg filled ({@code length} is the msg_controllen it left): the walk of CMSG_FIRSTHDR
     * and CMSG_NXTHDR, over any number of headers. Linux merges the SCM_RIGHTS messages of one
     * sendmsg into one on the receiving side, but nothing here counts on it. A header the buffer
     * cuts short yields the descriptors wholly inside the buffer only: the kernel installs no
     * others (see {@link IpcChannel}'s reader).
     */
    public static int[] passedFds(MemorySegment control, long length) {
        long end = Math.min(length, control.byteSize());
        int[] fds = NO_FDS;
        long header = 0;
        while (end - header >= CMSGHDR.byteSize()) {
            long cmsgLength = (long) CMSGHDR_LEN.get(control, header);
            if (cmsgLength < CMSGHDR.byteSize()) break; // CMSG_NXTHDR stops there too
            long inBuffer = Math.min(cmsgLength, end - header);
            if ((int) CMSGHDR_LEVEL.get(control, header) == SOL_SOCKET && (int) CMSGHDR_TYPE.get(control, header) == SCM_RIGHTS) {
                long data = header + CMSGHDR.byteSize();
                int count = (int) ((inBuffer - CMSGHDR.byteSize()) / Integer.BYTES);
                int already = fds.length;
                fds = Arrays.copyOf(fds, already + count);
                for (int i = 0; i < count; i++) fds[already + i] = control.get(JAVA_INT, data + (long) i * Integer.BYTES);
            }
            if (cmsgLength >= end - header) break;
            header += align(cmsgLength);
        }
        return fds;
    }

    /** shutdown(SHUT_RDWR): wakes a thread blocked reading the socket, without freeing the fd number. */
    public static void shutdown(int fd) {
        try {
            call("shutdown", MasterCalls.SHUTDOWN, fd, SHUT_RDWR);
        } catch (IOException alreadyGone) {
            // ENOTCONN: the peer is gone, which is what shutdown was for.
        }
    }

    public static void close(int fd) {
        // Once only: on Linux close(2) frees the number even when interrupted, so a retry could
        // close a descriptor another thread has just been given.
        try (Arena arena = Arena.ofConfined()) {
            int ignored = (int) CloseCall.CLOSE.invokeExact(callState(arena), fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close", t);
        }
    }

    // ---- Sockets passed by systemd (socket activation) ------------------------------------------
    // What the master needs to check a descriptor it was handed (LISTEN_FDS) before it adopts it,
    // linked the first time it is called: only a socket-activated master calls these.

    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SO_TYPE = 3;
    public static final int SO_ACCEPTCONN = 30;
    public static final int SO_DOMAIN = 39;
    public static final int IPPROTO_IPV6 = 41;
    public static final int IPV6_V6ONLY = 26;
    public static final int EBADF = 9;
    public static final int ENOTSOCK = 88;
    private static final int F_GETFD = 1;
    private static final int F_SETFD = 2;
    private static final int FD_CLOEXEC = 1;

    /**
     * fcntl(2), a variadic function: linked as {@code fcntl(int, int, int)} with the third
     * argument declared variadic, which is how C passes it (F_GETFD ignores it).
     */
    private static final class DescriptorFlagCall {
        static final MethodHandle FCNTL = LINKER.downcallHandle(
                LIBC.find("fcntl").orElseThrow(() -> new UnsatisfiedLinkError("libc has no fcntl")),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    }

    /**
     * An int-valued socket option (getsockopt(2)): {@code SO_TYPE}, {@code SO_DOMAIN},
     * {@code SO_ACCEPTCONN} at level {@code SOL_SOCKET}, say.
     *
     * @throws UnixException with {@link #ENOTSOCK} when {@code fd} is no socket, {@link #EBADF}
     *                       when it is not open
     */
    public static int intSocketOption(int fd, int level, int option) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(JAVA_INT);
            MemorySegment length = arena.allocate(JAVA_INT);
            length.set(JAVA_INT, 0, Integer.BYTES);
            call("getsockopt", MasterCalls.GETSOCKOPT, fd, level, option, value, length);
            return value.get(JAVA_INT, 0);
        }
    }

    /**
     * What a socket is, as a descriptor passed from elsewhere is checked before it is adopted as
     * a listening socket (socket activation, shared dispatch).
     *
     * @param domain    {@code SO_DOMAIN}: {@link #AF_INET}, {@link #AF_INET6}, {@link #AF_UNIX}...
     * @param type      {@code SO_TYPE}: {@link #SOCK_STREAM}, {@link #SOCK_DGRAM}...
     * @param listening {@code SO_ACCEPTCONN}: it listen()s
     */
    public record SocketKind(int domain, int type, boolean listening) {
    }

    /**
     * What socket {@code fd} is; null when it is no socket, or not open.
     *
     * @throws IOException when getsockopt fails otherwise
     */
    public static SocketKind socketKind(int fd) throws IOException {
        int type;
        try {
            type = intSocketOption(fd, SOL_SOCKET, SO_TYPE);
        } catch (UnixException e) {
            if (e.errno() == ENOTSOCK || e.errno() == EBADF) return null;
            throw e;
        }
        return new SocketKind(intSocketOption(fd, SOL_SOCKET, SO_DOMAIN), type, intSocketOption(fd, SOL_SOCKET, SO_ACCEPTCONN) != 0);
    }

    /**
     * Sets FD_CLOEXEC on a descriptor this process inherited, as sd_listen_fds(3) does, so that no
     * program it starts inherits it.
     */
    public static void setCloseOnExec(int fd) throws IOException {
        int flags = (int) call("fcntl(F_GETFD)", DescriptorFlagCall.FCNTL, fd, F_GETFD, 0);
        if ((flags & FD_CLOEXEC) == 0) call("fcntl(F_SETFD)", DescriptorFlagCall.FCNTL, fd, F_SETFD, flags | FD_CLOEXEC);
    }

    // ---- systemd's notification socket: sd_notify(3) without libsystemd ------------------------

    /**
     * sendto(2), linked the first time the service notifies systemd: a worker never does, and a
     * service without {@code NOTIFY_SOCKET} never links it.
     */
    private static final class DatagramCalls {
        static final MethodHandle SENDTO = function("sendto", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT);
    }

    /**
     * Sends {@code message} as one datagram to the Unix datagram socket at {@code address}, from a
     * socket made for it and closed after, as sd_notify(3) does. The address is a path, or, when it
     * starts with '@', a name in the abstract namespace (see {@link #unixAddress}). Never blocks:
     * when the receiver's queue is full the send fails (EAGAIN), rather than stall the caller.
     *
     * @throws IOException when the address is not one, or the socket or the send failed
     */
    public static void sendDatagram(String address, byte[] message) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sockaddr = arena.allocate(SOCKADDR_UN);
            int addressLength = unixAddress(address, sockaddr);
            MemorySegment data = arena.allocate(Math.max(1, message.length));
            MemorySegment.copy(message, 0, data, JAVA_BYTE, 0, message.length);
            int fd = (int) call("socket(AF_UNIX, SOCK_DGRAM)", SocketCall.SOCKET, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            try {
                long sent = call("sendto " + address, DatagramCalls.SENDTO, fd, data, (long) message.length,
                        MSG_DONTWAIT | MSG_NOSIGNAL, sockaddr, addressLength);
                if (sent != message.length) throw new IOException("sendto " + address + ": sent " + sent + " of " + message.length + " bytes");
            } finally {
                close(fd);
            }
        }
    }

    /**
     * Writes {@code address} into {@code sockaddr} (zeroed, of {@link #SOCKADDR_UN}'s size) and
     * returns the address length to pass with it. A path ("/run/systemd/notify") ends with the NUL
     * the zeroed memory holds. A name in the abstract namespace is written "@name": its first byte
     * becomes NUL, and the name is exactly the bytes after it, up to the returned length: no NUL
     * follows it (one would be part of the name, another name than the receiver's).
     *
     * @throws IOException when {@code address} is neither an absolute path nor "@name", or too long
     */
    public static int unixAddress(String address, MemorySegment sockaddr) throws IOException {
        byte[] bytes = address.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = bytes.length > 1 && bytes[0] == '@';
        if (!abstractName && (bytes.length == 0 || bytes[0] != '/')) {
            throw new IOException("not a Unix socket address (an absolute path, or @name for the abstract namespace): " + address);
        }
        // sun_path holds 108 bytes: a path and its NUL, or the abstract name's leading NUL and the name.
        if (bytes.length > (abstractName ? SUN_PATH_MAX + 1 : SUN_PATH_MAX)) {
            throw new IOException("Unix socket address longer than sun_path's " + (SUN_PATH_MAX + 1) + " bytes: " + address);
        }
        sockaddr.set(JAVA_SHORT, 0, (short) AF_UNIX);
        MemorySegment.copy(bytes, 0, sockaddr, JAVA_BYTE, 2, bytes.length);
        if (!abstractName) return (int) SOCKADDR_UN.byteSize();
        sockaddr.set(JAVA_BYTE, 2, (byte) 0);
        return Short.BYTES + bytes.length;
    }
}
