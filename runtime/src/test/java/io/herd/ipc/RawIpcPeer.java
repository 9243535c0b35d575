package io.herd.ipc;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A hostile end of an IPC channel, for tests: it sends any bytes with any descriptors attached,
 * in as many SCM_RIGHTS control messages as it is told, through a raw sendmsg(2) — what
 * {@link IpcChannel#send} never does.
 */
public final class RawIpcPeer implements Closeable {
    private final int fd;

    private RawIpcPeer(int fd) {
        this.fd = fd;
    }

    /** Connects to a channel's listening socket, as a worker does. */
    public static RawIpcPeer connect(Path path) throws IOException {
        return new RawIpcPeer(Unix.connectSeqPacket(path));
    }

    /**
     * Takes the first connection to {@code listener}, as a master does but whoever makes it;
     * throws when none comes within {@code timeoutMillis}.
     */
    public static RawIpcPeer accept(IpcChannel.Listener listener, int timeoutMillis) throws IOException {
        if (!Unix.pollReadable(listener.fd, timeoutMillis)) {
            throw new IOException("nobody connected to " + listener.path() + " within " + timeoutMillis + " ms");
        }
        return new RawIpcPeer(Unix.accept(listener.fd));
    }

    /** The 16 bytes of a message, laid out as {@link IpcChannel} writes them, whatever the fields hold. */
    public static byte[] message(IpcMessage.Type type, int family, int count, long id) {
        return frame(type.code, family, count, id, new byte[0]);
    }

    /** A header of type {@code code} and the payload after it, the header announcing the payload's length. */
    public static byte[] frame(int code, int family, int count, long id, byte[] payload) {
        ByteBuffer frame = ByteBuffer.allocate(IpcMessage.SIZE + payload.length).order(ByteOrder.nativeOrder())
                .put(0, (byte) code).put(1, (byte) family).putShort(2, (short) payload.length).putInt(4, count).putLong(8, id);
        return frame.put(IpcMessage.SIZE, payload).array();
    }

    /** A frame whose payload is {@code ids}, 8 bytes each in host order, as HANDOFFS and ACKS carry them. */
    public static byte[] withIds(IpcMessage.Type type, int family, int count, long... ids) {
        ByteBuffer payload = ByteBuffer.allocate(ids.length * Long.BYTES).order(ByteOrder.nativeOrder());
        for (long id : ids) payload.putLong(id);
        return frame(type.code, family, count, 0, payload.array());
    }

    /** A HELLO saying its sender speaks protocol versions {@code oldest} to {@code highest} and is herd {@code version}. */
    public static byte[] hello(int highest, int oldest, String version) {
        return frame(IpcMessage.Type.HELLO.code, 0, highest, oldest, version.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    /** The HELLO of a peer that speaks what this build speaks. */
    public static byte[] hello() {
        return hello(Protocol.VERSION, Protocol.OLDEST, "raw-peer");
    }

    /** A message as it came: its bytes and the descriptors that came with it (now this process's to close). */
    public record Received(byte[] data, int[] fds) {
        public int code() {
            return data.length == 0 ? -1 : data[0];
        }

        public boolean is(IpcMessage.Type type) {
            return code() == type.code;
        }

        public int family() {
            return data[1];
        }

        public long id() {
            return ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).getLong(8);
        }

        public int count() {
            return ByteBuffer.wrap(data).order(ByteOrder.nativeOrder()).getInt(4);
        }

        /** The payload read as 8-byte ids (HANDOFFS, ACKS), however many it holds. */
        public long[] ids() {
            ByteBuffer payload = ByteBuffer.wrap(data, IpcMessage.SIZE, data.length - IpcMessage.SIZE).order(ByteOrder.nativeOrder());
            long[] ids = new long[payload.remaining() / Long.BYTES];
            for (int i = 0; i < ids.length; i++) ids[i] = payload.getLong();
            return ids;
        }
    }

    /** {@link #receive()}, waiting at most {@code timeoutMillis} for the message; throws when none came. */
    public Received receive(int timeoutMillis) throws IOException {
        if (!Unix.pollReadable(fd, timeoutMillis)) throw new IOException("no message within " + timeoutMillis + " ms");
        return receive();
    }

    /** Blocks for the next message, taking up to {@link IpcMessage#MAX_BATCH} descriptors with it; null when the channel ended. */
    public Received receive() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Unix.callState(arena);
            MemorySegment bytes = arena.allocate(2L * IpcMessage.SIZE + IpcMessage.MAX_PAYLOAD, 8);
            MemorySegment msg = msghdr(arena, bytes, bytes.byteSize());
            MemorySegment control = arena.allocate(Unix.cmsgSpace(IpcMessage.MAX_BATCH), 8);
            Unix.MSG_CONTROL.set(msg, 0L, control);
            Unix.MSG_CONTROLLEN.set(msg, 0L, control.byteSize());
            long received = Unix.recvmsg(state, fd, msg, Unix.MSG_CMSG_CLOEXEC);
            if (received < 0) throw Unix.error("recvmsg", (int) -received);
            int[] fds = Unix.passedFds(control, (long) Unix.MSG_CONTROLLEN.get(msg, 0L));
            if (received == 0 && fds.length == 0) return null;
            return new Received(bytes.asSlice(0, received).toArray(JAVA_BYTE), fds);
        }
    }

    /** {@code n} fresh descriptors (unconnected sockets), something to pass; the caller closes them. */
    public static int[] descriptors(int n) throws IOException {
        int[] fds = new int[n];
        for (int i = 0; i < n; i++) fds[i] = Unix.socketSeqPacket();
        return fds;
    }

    /** Closes every descriptor given. */
    public static void closeAll(int[]... groups) {
        for (int[] group : groups) for (int descriptor : group) Unix.close(descriptor);
    }

    /**
     * Sends {@code data} as one message, with one SCM_RIGHTS control message for each group of
     * descriptors (an empty group adds none). The descriptors stay open here: the kernel passes
     * copies.
     */
    public void send(byte[] data, int[]... groups) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Unix.callState(arena);
            MemorySegment bytes = arena.allocate(Math.max(1, data.length), 8);
            MemorySegment.copy(data, 0, bytes, JAVA_BYTE, 0, data.length);
            MemorySegment msg = msghdr(arena, bytes, data.length);
            int[][] cmsgs = Arrays.stream(groups).filter(group -> group.length > 0).toArray(int[][]::new);
            long controlLength = Arrays.stream(cmsgs).mapToLong(group -> Unix.cmsgSpace(group.length)).sum();
            if (controlLength > 0) {
                MemorySegment control = arena.allocate(controlLength, 8);
                long header = 0;
                for (int[] group : cmsgs) {
                    Unix.CMSG_LEN.set(control, header, Unix.CMSGHDR.byteSize() + (long) group.length * Integer.BYTES);
                    Unix.CMSG_LEVEL.set(control, header, Unix.SOL_SOCKET);
                    Unix.CMSG_TYPE.set(control, header, Unix.SCM_RIGHTS);
                    MemorySegment.copy(group, 0, control, JAVA_INT, header + Unix.CMSGHDR.byteSize(), group.length);
                    header += Unix.cmsgSpace(group.length);
                }
                Unix.MSG_CONTROL.set(msg, 0L, control);
                Unix.MSG_CONTROLLEN.set(msg, 0L, controlLength);
            }
            long sent = Unix.sendmsg(state, fd, msg, Unix.MSG_NOSIGNAL);
            if (sent < 0) throw Unix.error("sendmsg", (int) -sent);
            if (sent != data.length) throw new IOException("sendmsg: sent " + sent + " of " + data.length + " bytes");
        }
    }

    /**
     * Reads what the master sends, answering each PING with a PONG, until the channel ends: a
     * worker that looks alive, so that nothing but what it sent can get it stopped. Descriptors
     * sent to it are closed.
     */
    public void answerPings() throws IOException {
        for (Received received = receive(); received != null; received = receive()) {
            closeAll(received.fds());
            if (received.is(IpcMessage.Type.PING)) send(message(IpcMessage.Type.PONG, 0, 0, 0));
        }
    }

    /** A msghdr for {@code length} bytes at {@code bytes}, without control messages. */
    private static MemorySegment msghdr(Arena arena, MemorySegment bytes, long length) {
        MemorySegment iov = arena.allocate(Unix.IOVEC);
        Unix.IOV_BASE.set(iov, 0L, bytes);
        Unix.IOV_LEN.set(iov, 0L, length);
        MemorySegment msg = arena.allocate(Unix.MSGHDR);
        Unix.MSG_IOV.set(msg, 0L, iov);
        Unix.MSG_IOVLEN.set(msg, 0L, 1L);
        return msg;
    }

    @Override
    public void close() {
        Unix.close(fd);
    }
}
