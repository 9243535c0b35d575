package io.herd.ipc;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.ProtocolException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * A connected master–worker IPC channel: an AF_UNIX SOCK_SEQPACKET socket carrying
 * {@link IpcMessage}s, with file descriptors passed as SCM_RIGHTS.
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
        private final int fd;
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
        SendBuffers buffers = SEND_BUFFERS.get();
        closeLock.readLock().lock();
        try {
            if (closed) throw new EOFException("IPC channel closed");
            long sent = buffers.send(fd, message, Unix.MSG_NOSIGNAL | (dontWait ? Unix.MSG_DONTWAIT : 0));
            if (sent == IpcMessage.SIZE) return true;
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
    private static final ThreadLocal<SendBuffers> SEND_BUFFERS = ThreadLocal.withInitial(SendBuffers::new);

    private static final class SendBuffers {
        private final MemorySegment state;
        private final MemorySegment data;
        private final MemorySegment control;
        private final MemorySegment msg;

        SendBuffers() {
            Arena arena = Arena.ofAuto();
            state = Unix.callState(arena);
            data = arena.allocate(IpcMessage.SIZE, 8);
            control = arena.allocate(Unix.CMSG_ONE_FD);
            msg = arena.allocate(Unix.MSGHDR);
            MemorySegment iov = arena.allocate(Unix.IOVEC);
            Unix.IOV_BASE.set(iov, 0L, data);
            Unix.IOV_LEN.set(iov, 0L, (long) IpcMessage.SIZE);
            Unix.MSG_IOV.set(msg, 0L, iov);
            Unix.MSG_IOVLEN.set(msg, 0L, 1L);
            Unix.CMSG_LEN.set(control, 0L, Unix.CMSG_LEN_ONE_FD);
            Unix.CMSG_LEVEL.set(control, 0L, Unix.SOL_SOCKET);
            Unix.CMSG_TYPE.set(control, 0L, Unix.SCM_RIGHTS);
        }

        long send(int fd, IpcMessage message, int flags) {
            data.set(JAVA_BYTE, 0, message.type().code);
            data.set(JAVA_BYTE, 1, (byte) message.family());
            data.set(JAVA_INT_UNALIGNED, 4, message.count());
            data.set(JAVA_LONG_UNALIGNED, 8, message.id());
            boolean passing = message.fd() >= 0;
            if (passing) Unix.CMSG_FD.set(control, 0L, message.fd());
            Unix.MSG_CONTROL.set(msg, 0L, passing ? control : MemorySegment.NULL);
            Unix.MSG_CONTROLLEN.set(msg, 0L, passing ? Unix.CMSG_ONE_FD.byteSize() : 0L);
            return Unix.sendmsg(state, fd, msg, flags);
        }
    }

    /**
     * Creates the reading side's buffers; call it on the one thread that reads.
     *
     * @param from the other end of the channel: the reader takes only the message types it sends
     */
    public Reader reader(IpcMessage.Sender from) {
        return new Reader(from);
    }

    /**
     * Reads messages; owned by one thread, which must also {@link #close()} it.
     *
     * <p>Every descriptor that arrives is either handed to the caller with the one message that
     * owns it (a HANDOFF, from the master) or closed here before the message is refused: a peer
     * cannot make this process hold a descriptor it did not ask for.
     */
    public final class Reader implements Closeable {
        private final IpcMessage.Sender from;
        private final Arena arena = Arena.ofConfined();
        private final MemorySegment state = Unix.callState(arena);
        private final MemorySegment data = arena.allocate(IpcMessage.SIZE * 2, 8);
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
            // Twice the message size: a longer datagram then shows up as garbage instead of being cut to fit.
            Unix.IOV_LEN.set(iov, 0L, data.byteSize());
            Unix.MSG_IOV.set(msg, 0L, iov);
            Unix.MSG_IOVLEN.set(msg, 0L, 1L);
            Unix.MSG_CONTROL.set(msg, 0L, control);
        }

        /**
         * Blocks for the next message.
         *
         * @throws EOFException when the peer closed the channel (or {@link #shutdown()} was called)
         * @throws ProtocolException when the peer sent something that is not a herd message, a
         *                           type it may not send, or a descriptor the type does not own;
         *                           every descriptor the message carried has been closed
         */
        public IpcMessage read() throws IOException {
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
            IpcMessage.Type type = IpcMessage.Type.of(data.get(JAVA_BYTE, 0));
            int family = data.get(JAVA_BYTE, 1);
            int count = data.get(JAVA_INT_UNALIGNED, 4);
            String problem = problem(n, type, fds.length, cutShort, family, count);
            if (problem != null) {
                for (int passed : fds) Unix.close(passed);
                throw new ProtocolException("refused an IPC message from the " + from + ": " + problem
                        + (fds.length > 0 ? " (its " + descriptors(fds.length) + " closed)" : ""));
            }
            return new IpcMessage(type, family, count, data.get(JAVA_LONG_UNALIGNED, 8), fds.length == 1 ? fds[0] : -1);
        }

        /** What makes a message unacceptable from {@link #from}, or null when nothing does. */
        private String problem(long length, IpcMessage.Type type, int descriptors, boolean cutShort, int family, int count) {
            if (length != IpcMessage.SIZE) {
                return (length >= data.byteSize() ? "at least " : "") + length + " bytes, not " + IpcMessage.SIZE;
            }
            if (type == null) return "unknown message type " + data.get(JAVA_BYTE, 0);
            if (type.sender != from) return type + ", which only the " + type.sender + " sends";
            if (cutShort) return type + " whose descriptors were cut short (MSG_CTRUNC: out of descriptors?)";
            if (descriptors != type.descriptors()) {
                return type + " carrying " + descriptors(descriptors) + (type.descriptors() == 0 ? ", which it may not" : ", not 1");
            }
            return IpcMessage.invalidField(type, family, count);
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
