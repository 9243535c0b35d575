package io.herd.ipc;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ProtocolException;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A connected master–worker IPC channel: an AF_UNIX SOCK_SEQPACKET socket carrying
 * {@link IpcMessage}s, with file descriptors passed as SCM_RIGHTS. It reads and writes frames; the
 * handshake each channel starts with is {@link Protocol}'s (docs/IPC.md describes both).
 *
 * <p>Any thread may send. One thread reads, through its own {@link Reader}, and reading blocks in
 * a native call, so it must be a platform thread (a native call pins a virtual thread's carrier).
 * The descriptor is closed under a write lock, so a send can never reach a number the kernel has
 * already given to someone else.
 */
public final class IpcChannel implements Closeable {
    private final int fd;
    private final ReentrantReadWriteLock closeLock = new ReentrantReadWriteLock();
    private boolean closed;

    private IpcChannel(int fd) {
        this.fd = fd;
    }

    /** Connects to the socket a master is listening on. */
    public static IpcChannel connect(Path path) throws IOException {
        return new IpcChannel(Unix.connectSeqPacket(path));
    }

    /**
     * Waits on {@code listener} for the one process {@code expectedPid}, up to
     * {@code timeoutMillis} and while {@code keepWaiting} holds, then closes the listener and
     * removes its path: once connected, nobody else can reach the channel. A connection from any
     * other process is refused and logged.
     */
    public static IpcChannel acceptFrom(Listener listener, long expectedPid, int timeoutMillis, BooleanSupplier keepWaiting)
            throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try {
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0 || !keepWaiting.getAsBoolean()) {
                    throw new IOException("pid " + expectedPid + " did not connect to " + listener.path()
                            + (left <= 0 ? " within " + timeoutMillis + " ms" : ""));
                }
                if (!Unix.pollReadable(listener.fd, (int) Math.min(left, 100))) continue;
                int client = Unix.accept(listener.fd);
                int pid;
                try {
                    pid = Unix.peerPid(client);
                } catch (IOException e) {
                    Unix.close(client);
                    throw e;
                }
                if (pid == expectedPid) return new IpcChannel(client);
                Unix.close(client);
                System.getLogger(IpcChannel.class.getName()).log(System.Logger.Level.WARNING,
                        "refused an IPC connection from pid {0} on {1}: only pid {2} may connect",
                        Integer.toString(pid), listener.path(), Long.toString(expectedPid));
            }
        } finally {
            listener.close();
        }
    }

    /** A bound, listening socket waiting for one worker; see {@link #acceptFrom}. */
    public static final class Listener implements Closeable {
        final int fd;
        private final Path path;
        private boolean closed;

        public Listener(Path path) throws IOException {
            this.path = path;
            this.fd = Unix.socketSeqPacket();
            try {
                Unix.bind(fd, path);
                Unix.listen(fd, 4);
            } catch (IOException e) {
                Unix.close(fd);
                throw e;
            }
        }

        public Path path() {
            return path;
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            Unix.close(fd);
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // The directory is private and removed with the service.
            }
        }
    }

    /**
     * Sends a message, passing {@code message.fd()} along when it is not -1.
     *
     * @param dontWait when true and the worker's receive queue is full, return false at once
     *                 rather than block
     * @return false only when {@code dontWait} and the queue was full
     * @throws IOException when the channel is closed or broken (the peer is gone)
     */
    public boolean send(IpcMessage message, boolean dontWait) throws IOException {
        return send(message.type(), message.family(), message.count(), message.id(), message.fd(), message.text(), dontWait);
    }

    /**
     * Sends a HANDOFF of connection {@code id}, passing {@code fd}: what {@link #send} does with
     * {@link IpcMessage#handoff}, without making the message, since the master sends one for
     * every connection.
     */
    public boolean sendHandoff(long id, int family, int fd, boolean dontWait) throws IOException {
        return send(IpcMessage.Type.HANDOFF, family, 0, id, fd, "", dontWait);
    }

    private boolean send(IpcMessage.Type type, int family, int count, long id, int passedFd, String text, boolean dontWait) throws IOException {
        SendBuffers buffers = SEND_BUFFERS.get();
        closeLock.readLock().lock();
        try {
            if (closed) throw new EOFException("IPC channel closed");
            long length = IpcMessage.SIZE + text.length();
            long sent = buffers.send(fd, type, family, count, id, passedFd, text, Unix.MSG_NOSIGNAL | (dontWait ? Unix.MSG_DONTWAIT : 0));
            if (sent == length) return true;
            if (sent == -Unix.EAGAIN && dontWait) return false;
            throw sent < 0 ? Unix.error("sendmsg", (int) -sent) : new IOException("sendmsg: short write " + sent);
        } finally {
            closeLock.readLock().unlock();
        }
    }

    /**
     * Each sending thread's native memory for sendmsg, made once: the master's accept thread sends
     * a handoff per connection, and a worker's reader an acknowledgement. Freed by the GC with
     * its thread.
     */
    private static final ThreadLocal<SendBuffers> SEND_BUFFERS = new ThreadLocal<>() {
        // Not withInitial(SendBuffers::new): a worker sends its HELLO before it is ready, and a
        // method reference spins a class at its first use.
        @Override
        protected SendBuffers initialValue() {
            return new SendBuffers();
        }
    };

    private static final class SendBuffers {
        private static final byte[] NO_PAYLOAD = {};
        private final MemorySegment state;
        private final MemorySegment data;
        private final MemorySegment control;
        private final MemorySegment msg;
        private final MemorySegment iov;

        SendBuffers() {
            Arena arena = Arena.ofAuto();
            state = Unix.callState(arena);
            data = arena.allocate(IpcMessage.SIZE + IpcMessage.MAX_PAYLOAD, 8);
            control = arena.allocate(Unix.CMSG_ONE_FD);
            msg = arena.allocate(Unix.MSGHDR);
            iov = arena.allocate(Unix.IOVEC);
            Unix.IOV_BASE.set(iov, 0L, data);
            Unix.MSG_IOV.set(msg, 0L, iov);
            Unix.MSG_IOVLEN.set(msg, 0L, 1L);
            Unix.CMSG_LEN.set(control, 0L, Unix.CMSG_LEN_ONE_FD);
            Unix.CMSG_LEVEL.set(control, 0L, Unix.SOL_SOCKET);
            Unix.CMSG_TYPE.set(control, 0L, Unix.SCM_RIGHTS);
        }

        long send(int fd, IpcMessage.Type type, int family, int count, long id, int passedFd, String text, int flags) {
            // most messages carry no payload: no bytes to make for them
            byte[] payload = text.isEmpty() ? NO_PAYLOAD : text.getBytes(StandardCharsets.US_ASCII);
            if (payload.length > IpcMessage.MAX_PAYLOAD) throw new IllegalArgumentException("a payload of " + payload.length + " bytes");
            data.set(JAVA_BYTE, 0, type.code);
            data.set(JAVA_BYTE, 1, (byte) family);
            data.set(JAVA_SHORT_UNALIGNED, 2, (short) payload.length);
            MemorySegment.copy(payload, 0, data, JAVA_BYTE, IpcMessage.SIZE, payload.length);
            Unix.IOV_LEN.set(iov, 0L, (long) IpcMessage.SIZE + payload.length);
            data.set(JAVA_INT_UNALIGNED, 4, count);
            data.set(JAVA_LONG_UNALIGNED, 8, id);
            boolean passing = passedFd >= 0;
            if (passing) Unix.CMSG_FD.set(control, 0L, passedFd);
            Unix.MSG_CONTROL.set(msg, 0L, passing ? control : MemorySegment.NULL);
            Unix.MSG_CONTROLLEN.set(msg, 0L, passing ? Unix.CMSG_ONE_FD.byteSize() : 0L);
            return Unix.sendmsg(state, fd, msg, flags);
        }
    }

    /**
     * Creates the reading side's buffers. One thread reads at a time: the one that reads the
     * HELLO may hand the reader on to the one that reads the rest.
     *
     * @param from the other end of the channel: the reader takes only the message types it sends
     */
    public Reader reader(IpcMessage.Sender from) {
        return new Reader(from);
    }

    /**
     * Reads messages; used by one thread at a time, the last of which must also {@link #close()} it.
     *
     * <p>Every descriptor that arrives is either handed to the caller with the one message that
     * owns it (a HANDOFF, from the master) or closed here before the message is refused or
     * skipped: a peer cannot make this process hold a descriptor it did not ask for.
     */
    public final class Reader implements Closeable {
        private final IpcMessage.Sender from;
        // Shared, not confined: the SDK reads the master's HELLO on the app's thread, the rest on its reader thread.
        private final Arena arena = Arena.ofShared();
        private final MemorySegment state = Unix.callState(arena);
        // A header more than the longest frame: a longer datagram then shows up as too long instead of being cut to fit.
        private final MemorySegment data = arena.allocate(2L * IpcMessage.SIZE + IpcMessage.MAX_PAYLOAD, 8);
        private final MemorySegment iov = arena.allocate(Unix.IOVEC);
        /*
         * Room for as many descriptors as Linux passes in one message (SCM_MAX_FD), so that every
         * one a peer sends lands here, where read() can close it. The kernel never leaves a
         * descriptor that does not fit the control buffer in the receiver: net/core/scm.c,
         * scm_detach_fds(), installs as many as fit in msg_controllen (two fit in 24 bytes),
         * sets MSG_CTRUNC, and drops its reference to the rest, as if they had never been sent
         * (on the sender's side they stay open until the sender closes them). The same happens
         * when installing one fails, e.g. with EMFILE when this process is out of descriptors.
         * (Checked on Linux 6.18: of three descriptors sent into a 24-byte buffer, two arrive,
         * flagged MSG_CTRUNC; once those two are closed the process holds no more than before.)
         */
        private final MemorySegment control = arena.allocate(Unix.cmsgSpace(Unix.SCM_MAX_FD), 8);
        private final MemorySegment msg = arena.allocate(Unix.MSGHDR);

        private Reader(IpcMessage.Sender from) {
            this.from = from;
            Unix.IOV_BASE.set(iov, 0L, data);
            Unix.IOV_LEN.set(iov, 0L, data.byteSize());
            Unix.MSG_IOV.set(msg, 0L, iov);
            Unix.MSG_IOVLEN.set(msg, 0L, 1L);
            Unix.MSG_CONTROL.set(msg, 0L, control);
        }

        /**
         * Blocks for the next message. One of a type this reader does not know, marked optional,
         * is skipped (its descriptors closed), and the next one read.
         *
         * @throws EOFException when the peer closed the channel (or {@link #shutdown()} was called)
         * @throws ProtocolException when the peer sent something that is not a herd message, a
         *                           type it may not send or does not mark optional, or a
         *                           descriptor the type does not own; every descriptor the
         *                           message carried has been closed
         */
        public IpcMessage read() throws IOException {
            while (true) {
                IpcMessage message = readOne();
                if (message != null) return message;
            }
        }

        /** The next message, or null when it was of an unknown optional type and is skipped. */
        private IpcMessage readOne() throws IOException {
            Unix.MSG_CONTROLLEN.set(msg, 0L, control.byteSize());
            Unix.MSG_FLAGS.set(msg, 0L, 0);
            long n = Unix.recvmsg(state, fd, msg, Unix.MSG_CMSG_CLOEXEC);
            if (n < 0) {
                int errno = (int) -n;
                if (errno == 104 /* ECONNRESET */) throw new EOFException("IPC channel reset by peer");
                throw Unix.error("recvmsg", errno);
            }
            int[] fds = Unix.passedFds(control, (long) Unix.MSG_CONTROLLEN.get(msg, 0L));
            boolean cutShort = ((int) Unix.MSG_FLAGS.get(msg, 0L) & Unix.MSG_CTRUNC) != 0;
            // An empty message reads as the end of the channel, unless descriptors came with it.
            if (n == 0 && fds.length == 0 && !cutShort) throw new EOFException("IPC channel closed by peer");
            String problem = frameProblem(n);
            byte code = data.get(JAVA_BYTE, 0);
            IpcMessage.Type type = IpcMessage.Type.of(code);
            if (problem == null && type == null && IpcMessage.isOptional(code)) {
                for (int passed : fds) Unix.close(passed);
                // The logger is looked up only here: System.getLogger loads the logging backend, which a worker need not start with.
                System.getLogger(IpcChannel.class.getName()).log(System.Logger.Level.DEBUG, "skipped an IPC message of unknown optional type {0} from the {1}",
                        Integer.toString(code & 0xff), from);
                return null;
            }
            int family = data.get(JAVA_BYTE, 1);
            int count = data.get(JAVA_INT_UNALIGNED, 4);
            long id = data.get(JAVA_LONG_UNALIGNED, 8);
            String text = problem == null ? payload() : "";
            if (problem == null) problem = problem(type, code, fds.length, cutShort, family, count, id, text);
            if (problem != null) {
                for (int passed : fds) Unix.close(passed);
                throw new ProtocolException("refused an IPC message from the " + from + ": " + problem
                        + (fds.length > 0 ? " (its " + descriptors(fds.length) + " closed)" : ""));
            }
            return new IpcMessage(type, family, count, id, fds.length == 1 ? fds[0] : -1, text);
        }

        /** What makes {@code length} bytes no herd frame (a header and the payload it announces), or null. */
        private String frameProblem(long length) {
            if (length >= data.byteSize()) {
                return "at least " + length + " bytes, more than a " + IpcMessage.SIZE + "-byte header and " + IpcMessage.MAX_PAYLOAD + " bytes of payload";
            }
            if (length < IpcMessage.SIZE) return length + " bytes, not a " + IpcMessage.SIZE + "-byte header";
            int payload = payloadLength();
            if (payload > IpcMessage.MAX_PAYLOAD) return "a payload of " + payload + " bytes, more than " + IpcMessage.MAX_PAYLOAD;
            if (length != IpcMessage.SIZE + payload) {
                return length + " bytes, not the " + IpcMessage.SIZE + "-byte header and the " + payload + "-byte payload it announces";
            }
            return null;
        }

        private int payloadLength() {
            return data.get(JAVA_SHORT_UNALIGNED, 2) & 0xffff;
        }

        /** The payload as text, a character a byte; one outside ASCII becomes U+FFFD, which the type's checks refuse. */
        private String payload() {
            if (payloadLength() == 0) return ""; // nearly every message: nothing to make
            byte[] bytes = new byte[payloadLength()];
            MemorySegment.copy(data, JAVA_BYTE, IpcMessage.SIZE, bytes, 0, bytes.length);
            return new String(bytes, StandardCharsets.US_ASCII);
        }

        /** What makes a well-framed message unacceptable from {@link #from}, or null when nothing does. */
        private String problem(IpcMessage.Type type, byte code, int descriptors, boolean cutShort, int family, int count, long id, String text) {
            if (type == null) return "unknown message type " + code + ", not marked optional";
            if (!type.senders.contains(from)) return type + ", which only the " + type.senders.iterator().next() + " sends";
            if (cutShort) return type + " whose descriptors were cut short (MSG_CTRUNC: out of descriptors?)";
            if (descriptors != type.descriptors()) {
                return type + " carrying " + descriptors(descriptors) + (type.descriptors() == 0 ? ", which it may not" : ", not 1");
            }
            return IpcMessage.invalidField(type, family, count, id, text);
        }

        private static String descriptors(int count) {
            return count == 0 ? "no descriptor" : count == 1 ? "1 descriptor" : count + " descriptors";
        }

        /** Frees the buffers and the channel. */
        @Override
        public void close() {
            IpcChannel.this.close();
            arena.close();
        }
    }

    /** Wakes the reading thread with an end of stream; the descriptor stays valid until {@link #close()}. */
    public void shutdown() {
        closeLock.readLock().lock();
        try {
            if (!closed) Unix.shutdown(fd);
        } finally {
            closeLock.readLock().unlock();
        }
    }

    @Override
    public void close() {
        closeLock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            Unix.close(fd);
        } finally {
            closeLock.writeLock().unlock();
        }
    }
}
