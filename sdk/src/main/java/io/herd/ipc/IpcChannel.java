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
import static java.lang.foreign.ValueLayout.JAVA_INT;
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
    /** The version the handshake agreed on: no message of a newer type is sent or taken. */
    private volatile int agreedVersion = Protocol.OLDEST;

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
     * Sends a message, passing {@code message.fds()} along, and for a HANDOFFS or an ACKS its
     * {@code ids()} as the payload.
     *
     * @param dontWait when true and the worker's receive queue is full, return false at once
     *                 rather than block
     * @return false when nothing was sent: {@code dontWait} and the queue was full, or the message
     *         passes descriptors and this user has too many in flight already (ETOOMANYREFS)
     * @throws IOException when the channel is closed or broken (the peer is gone)
     * @throws IllegalStateException when the message's type is newer than the channel's agreed
     *                               version (see {@link Reader#agreed})
     */
    public boolean send(IpcMessage message, boolean dontWait) throws IOException {
        IpcMessage.Type type = message.type();
        SendBuffers buffers = SEND_BUFFERS.get();
        buffers.header(type, message.family(), message.count(), message.id());
        if (type.carriesIds()) buffers.ids(message.ids(), message.ids().length);
        else buffers.text(message.text());
        buffers.descriptors(message.fds(), message.fds().length);
        return transmit(buffers, type, dontWait);
    }

    /**
     * Sends a HANDOFF of connection {@code id}, passing {@code fd}: what {@link #send} does with
     * {@link IpcMessage#handoff}, without making the message, since the master sends one for
     * every connection.
     */
    public boolean sendHandoff(long id, int family, int fd, boolean dontWait) throws IOException {
        SendBuffers buffers = SEND_BUFFERS.get();
        buffers.header(IpcMessage.Type.HANDOFF, family, 0, id);
        buffers.text("");
        buffers.descriptor(fd);
        return transmit(buffers, IpcMessage.Type.HANDOFF, dontWait);
    }

    /**
     * Hands off the first {@code n} connections of {@code ids} and {@code fds} (connection
     * {@code ids[i]} is {@code fds[i]}), all of protocol family {@code family}, in one message:
     * a HANDOFFS, or for {@code n} = 1 a HANDOFF. Needs a channel agreed at IPC 3 or later when
     * {@code n} ≥ 2. All or nothing: SOCK_SEQPACKET sends the whole message with every
     * descriptor, or none of it.
     *
     * @param dontWait when true and the worker's receive queue is full, return false at once
     * @return false when none was sent and the channel is fine: {@code dontWait} and the queue
     *         was full (EAGAIN), or this user has too many descriptors in flight (ETOOMANYREFS);
     *         the caller still owns every connection
     * @throws IOException when the channel is closed or broken (the peer is gone)
     * @throws IllegalArgumentException when {@code n} is not 1 to {@link IpcMessage#MAX_BATCH},
     *                                  or more than either array holds
     * @throws IllegalStateException when {@code n} ≥ 2 on a channel agreed below IPC 3
     */
    public boolean sendHandoffs(long[] ids, int[] fds, int n, int family, boolean dontWait) throws IOException {
        checkBatchSize("handoffs", n);
        if (n > ids.length || n > fds.length) {
            throw new IllegalArgumentException(n + " handoffs from arrays of " + ids.length + " ids and " + fds.length + " descriptors");
        }
        if (n == 1) return sendHandoff(ids[0], family, fds[0], dontWait);
        SendBuffers buffers = SEND_BUFFERS.get();
        buffers.header(IpcMessage.Type.HANDOFFS, family, n, 0);
        buffers.ids(ids, n);
        buffers.descriptors(fds, n);
        return transmit(buffers, IpcMessage.Type.HANDOFFS, dontWait);
    }

    /**
     * Acknowledges the first {@code n} connections of {@code ids} in one message: an ACKS, or for
     * {@code n} = 1 an ACK. Needs a channel agreed at IPC 3 or later when {@code n} ≥ 2. Blocks
     * while the master's receive queue is full, as every message a worker sends does.
     *
     * @throws IOException when the channel is closed or broken (the master is gone)
     * @throws IllegalArgumentException when {@code n} is not 1 to {@link IpcMessage#MAX_BATCH},
     *                                  or more than {@code ids} holds
     * @throws IllegalStateException when {@code n} ≥ 2 on a channel agreed below IPC 3
     */
    public void sendAcks(long[] ids, int n) throws IOException {
        checkBatchSize("acks", n);
        if (n > ids.length) throw new IllegalArgumentException(n + " acks from an array of " + ids.length + " ids");
        SendBuffers buffers = SEND_BUFFERS.get();
        if (n == 1) {
            buffers.header(IpcMessage.Type.ACK, 0, 0, ids[0]);
            buffers.text("");
        } else {
            buffers.header(IpcMessage.Type.ACKS, 0, n, 0);
            buffers.ids(ids, n);
        }
        buffers.descriptors(null, 0);
        transmit(buffers, n == 1 ? IpcMessage.Type.ACK : IpcMessage.Type.ACKS, false);
    }

    /**
     * Sends a LISTENER: the worker accepts from listening socket {@code fd} (of protocol family
     * {@code family}) from now on. Shared dispatch, on a channel agreed at IPC 3 or later.
     *
     * @return false when not sent and the channel is fine (as {@link #sendHandoffs})
     * @throws IllegalStateException on a channel agreed below IPC 3
     */
    public boolean sendListener(int fd, int family, boolean dontWait) throws IOException {
        SendBuffers buffers = SEND_BUFFERS.get();
        buffers.header(IpcMessage.Type.LISTENER, family, 0, 0);
        buffers.text("");
        buffers.descriptor(fd);
        return transmit(buffers, IpcMessage.Type.LISTENER, dontWait);
    }

    /**
     * Sends an ACCEPTED: this worker accepted {@code n} (at least 1) connections from its shared
     * listeners since its last report. Blocks while the master's receive queue is full.
     *
     * @throws IllegalArgumentException when {@code n} is below 1
     * @throws IllegalStateException on a channel agreed below IPC 3
     */
    public void sendAccepted(int n) throws IOException {
        if (n < 1) throw new IllegalArgumentException("ACCEPTED of " + n + " connections, not at least 1");
        SendBuffers buffers = SEND_BUFFERS.get();
        buffers.header(IpcMessage.Type.ACCEPTED, 0, n, 0);
        buffers.text("");
        buffers.descriptors(null, 0);
        transmit(buffers, IpcMessage.Type.ACCEPTED, false);
    }

    private static void checkBatchSize(String what, int n) {
        if (n < 1 || n > IpcMessage.MAX_BATCH) throw new IllegalArgumentException(n + " " + what + ", not 1 to " + IpcMessage.MAX_BATCH);
    }

    /** Sends what {@code buffers} holds: a message of {@code type}. */
    private boolean transmit(SendBuffers buffers, IpcMessage.Type type, boolean dontWait) throws IOException {
        int agreed = agreedVersion;
        if (type.version > agreed) {
            throw new IllegalStateException(type + " is a message of IPC " + type.version + ", on a channel agreed at IPC " + agreed);
        }
        closeLock.readLock().lock();
        try {
            if (closed) throw new EOFException("IPC channel closed");
            long sent = buffers.send(fd, Unix.MSG_NOSIGNAL | (dontWait ? Unix.MSG_DONTWAIT : 0));
            if (sent == buffers.length()) return true;
            if (sent == -Unix.EAGAIN && dontWait) return false;
            // The sender's limit on descriptors in flight (RLIMIT_NOFILE's worth, net/unix/scm.c): nothing was sent, the channel is fine.
            if (sent == -Unix.ETOOMANYREFS && buffers.passesDescriptors()) return false;
            throw sent < 0 ? Unix.error("sendmsg", (int) -sent) : new IOException("sendmsg: short write " + sent);
        } finally {
            closeLock.readLock().unlock();
        }
    }

    /** The protocol version the handshake agreed on, as told to {@link Reader#agreed}; {@link Protocol#OLDEST} until then. */
    public int agreedVersion() {
        return agreedVersion;
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

    /** One message staged for sendmsg: {@link #header}, then the payload, then the descriptors, then {@link #send}. */
    private static final class SendBuffers {
        private final MemorySegment state;
        private final MemorySegment data;
        /** Room for one SCM_RIGHTS control message of up to MAX_BATCH descriptors: a HANDOFFS's. */
        private final MemorySegment control;
        private final MemorySegment msg;
        private final MemorySegment iov;
        private int payloadLength;
        private boolean passing;

        SendBuffers() {
            Arena arena = Arena.ofAuto();
            state = Unix.callState(arena);
            data = arena.allocate(IpcMessage.SIZE + IpcMessage.MAX_PAYLOAD, 8);
            control = arena.allocate(Unix.cmsgSpace(IpcMessage.MAX_BATCH), 8);
            msg = arena.allocate(Unix.MSGHDR);
            iov = arena.allocate(Unix.IOVEC);
            Unix.IOV_BASE.set(iov, 0L, data);
            Unix.MSG_IOV.set(msg, 0L, iov);
            Unix.MSG_IOVLEN.set(msg, 0L, 1L);
            Unix.CMSG_LEVEL.set(control, 0L, Unix.SOL_SOCKET);
            Unix.CMSG_TYPE.set(control, 0L, Unix.SCM_RIGHTS);
        }

        void header(IpcMessage.Type type, int family, int count, long id) {
            data.set(JAVA_BYTE, 0, type.code);
            data.set(JAVA_BYTE, 1, (byte) family);
            data.set(JAVA_INT_UNALIGNED, 4, count);
            data.set(JAVA_LONG_UNALIGNED, 8, id);
        }

        /** A text payload, "" for none (most messages: no bytes to make for them). */
        void text(String text) {
            if (text.isEmpty()) {
                payload(0);
                return;
            }
            byte[] payload = text.getBytes(StandardCharsets.US_ASCII);
            if (payload.length > IpcMessage.MAX_PAYLOAD) throw new IllegalArgumentException("a payload of " + payload.length + " bytes");
            MemorySegment.copy(payload, 0, data, JAVA_BYTE, IpcMessage.SIZE, payload.length);
            payload(payload.length);
        }

        /** The first {@code n} of {@code ids} as the payload, 8 bytes each in host order. */
        void ids(long[] ids, int n) {
            if (n > IpcMessage.MAX_BATCH) throw new IllegalArgumentException(n + " ids, more than " + IpcMessage.MAX_BATCH);
            for (int i = 0; i < n; i++) data.set(JAVA_LONG_UNALIGNED, IpcMessage.SIZE + (long) i * Long.BYTES, ids[i]);
            payload(n * Long.BYTES);
        }

        private void payload(int length) {
            payloadLength = length;
            data.set(JAVA_SHORT_UNALIGNED, 2, (short) length);
            Unix.IOV_LEN.set(iov, 0L, (long) IpcMessage.SIZE + length);
        }

        /** One descriptor to pass, or none when {@code fd} is -1. */
        void descriptor(int fd) {
            if (fd < 0) {
                descriptors(null, 0);
                return;
            }
            Unix.CMSG_FD.set(control, 0L, fd);
            attach(1);
        }

        /** The first {@code n} of {@code fds}, in one SCM_RIGHTS control message; none when {@code n} is 0. */
        void descriptors(int[] fds, int n) {
            if (n > IpcMessage.MAX_BATCH) throw new IllegalArgumentException(n + " descriptors, more than " + IpcMessage.MAX_BATCH);
            for (int i = 0; i < n; i++) control.set(JAVA_INT, Unix.CMSGHDR.byteSize() + (long) i * Integer.BYTES, fds[i]);
            attach(n);
        }

        private void attach(int n) {
            passing = n > 0;
            Unix.CMSG_LEN.set(control, 0L, Unix.CMSGHDR.byteSize() + (long) n * Integer.BYTES);
            Unix.MSG_CONTROL.set(msg, 0L, passing ? control : MemorySegment.NULL);
            Unix.MSG_CONTROLLEN.set(msg, 0L, passing ? Unix.cmsgSpace(n) : 0L);
        }

        boolean passesDescriptors() {
            return passing;
        }

        /** The staged message's length in bytes: what a complete send returns. */
        long length() {
            return IpcMessage.SIZE + payloadLength;
        }

        long send(int fd, int flags) {
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
     * owns it (a HANDOFF, HANDOFFS or LISTENER, from the master) or closed here before the message is refused or
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
         * Tells the reader the protocol version the handshake agreed on, so that it takes the
         * types of that version and refuses newer ones; sends check it too. Both sides call it
         * once they know it (the master before it answers the worker's HELLO, so that nothing
         * the worker sends after reading it can come too early). Until then the reader takes
         * the types of {@link Protocol#OLDEST}.
         *
         * @throws IllegalArgumentException when {@code version} is not one this code speaks
         */
        public void agreed(int version) {
            if (version < Protocol.OLDEST || version > Protocol.VERSION) {
                throw new IllegalArgumentException("IPC " + version + " is not one of the versions this code speaks, " + Protocol.OLDEST + " to " + Protocol.VERSION);
            }
            agreedVersion = version;
        }

        /**
         * Blocks for the next message. One of a type this reader does not know, marked optional,
         * is skipped (its descriptors closed), and the next one read.
         *
         * @throws EOFException when the peer closed the channel (or {@link #shutdown()} was called)
         * @throws ProtocolException when the peer sent something that is not a herd message, a
         *                           type it may not send, one newer than the agreed version, or
         *                           one it does not know and not marked optional, or
         *                           descriptors the type does not own; every descriptor the
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
            int payloadLength = problem == null ? payloadLength() : 0;
            String text = problem == null && type == IpcMessage.Type.HELLO ? payload() : "";
            if (problem == null) problem = problem(type, code, fds.length, cutShort, family, count, id, payloadLength, text);
            if (problem != null) {
                for (int passed : fds) Unix.close(passed);
                throw new ProtocolException("refused an IPC message from the " + from + ": " + problem
                        + (fds.length > 0 ? " (its " + descriptors(fds.length) + " closed)" : ""));
            }
            long[] ids = type.carriesIds() ? ids(count) : IpcMessage.NO_IDS;
            return new IpcMessage(type, family, count, id, ids, fds, text);
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

        /** The payload as {@code count} connection ids (checked: it holds exactly that many). */
        private long[] ids(int count) {
            long[] ids = new long[count];
            for (int i = 0; i < count; i++) ids[i] = data.get(JAVA_LONG_UNALIGNED, IpcMessage.SIZE + (long) i * Long.BYTES);
            return ids;
        }

        /** What makes a well-framed message unacceptable from {@link #from}, or null when nothing does. */
        private String problem(IpcMessage.Type type, byte code, int descriptors, boolean cutShort, int family, int count, long id,
                               int payloadLength, String text) {
            if (type == null) return "unknown message type " + code + ", not marked optional";
            if (!type.senders.contains(from)) return type + ", which only the " + type.senders.iterator().next() + " sends";
            int agreed = agreedVersion;
            if (type.version > agreed) return type + ", a message of IPC " + type.version + ", on a channel agreed at IPC " + agreed;
            if (cutShort) return type + " whose descriptors were cut short (MSG_CTRUNC: out of descriptors?)";
            // The fields first: a HANDOFFS's count says how many descriptors it owns.
            String field = IpcMessage.invalidField(type, family, count, id, payloadLength, text);
            if (field != null) return field;
            int owned = type.descriptors(count);
            if (descriptors != owned) {
                return type + " carrying " + descriptors(descriptors) + (owned == 0 ? ", which it may not" : ", not " + owned);
            }
            return null;
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
