package io.herd.ipc;

import java.util.EnumSet;
import java.util.Set;

/**
 * One message on a master–worker IPC channel: a 16-byte header, then a payload (HELLO: a short
 * text; HANDOFFS and ACKS: connection ids), and for a handoff or a listener the file descriptors
 * passed with it. SOCK_SEQPACKET keeps each message whole, so there is no framing to get wrong.
 * Each type has its senders and the protocol version that introduced it; a reader takes only
 * what the other side may send on a channel of the agreed version, and only the descriptors the
 * message owns (see {@link IpcChannel.Reader#read()}). The wire, each type and the handshake are
 * described in {@code docs/IPC.md}, which is the reference: change both together.
 *
 * <pre>
 *  byte 0     type; bit 7 set = optional: a reader that does not know the type skips it
 *  byte 1     protocol family of a handed-off connection or a listener (4 or 6)
 *  bytes 2-3  payload length (0 to {@value #MAX_PAYLOAD}); the payload follows the header
 *  bytes 4-7  count (CLOSED, ACCEPTED: how many connections; HANDOFFS, ACKS: how many ids;
 *             HELLO: newest version)
 *  bytes 8-15 id (HANDOFF, ACK, NACK: the master's connection id; HELLO: oldest version)
 *  payload    HELLO: its sender's herd version; HANDOFFS, ACKS: count 8-byte ids, host order
 * </pre>
 *
 * <p>A worker ACKs a connection when the app takes it, and NACKs one it will not serve; until
 * either, the master keeps its copy and the connection is still the master's to place.
 *
 * @param ids  HANDOFFS, ACKS: the connection ids, in order (the payload); empty for any other type
 * @param fds  the passed descriptors, in order (HANDOFFS: one per id); empty for none
 * @param text the payload (HELLO: its sender's herd version), "" for none
 */
public record IpcMessage(Type type, int family, int count, long id, long[] ids, int[] fds, String text) {
    /** The header's size: a message without payload. */
    public static final int SIZE = 16;
    /** The most payload any message may carry, in every protocol version: a reader's buffer is sized by it. */
    public static final int MAX_PAYLOAD = 256;
    /**
     * The most connections one HANDOFFS or ACKS names: as many 8-byte ids as the payload holds.
     * (Linux would pass 253 descriptors in one message, SCM_MAX_FD; the payload bound is the limit.)
     */
    public static final int MAX_BATCH = MAX_PAYLOAD / Long.BYTES;
    /** Bit 7 of the type byte: a reader that does not know the type skips the message instead of refusing it. */
    static final int OPTIONAL = 0x80;
    static final long[] NO_IDS = {};
    static final int[] NO_FDS = {};

    /** Which end of the channel sends a message type. */
    public enum Sender {
        MASTER, WORKER;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public enum Type {
        /**
         * Either way, first on every channel (worker first): the newest ({@code count}) and
         * oldest ({@code id}) protocol versions the sender speaks, and its herd version
         * ({@code text}). Its code and layout never change, so that any two versions can tell
         * each other apart.
         */
        HELLO(20, 2, Sender.MASTER, Sender.WORKER),
        /** master → worker: here is connection {@code id} (with its fd). */
        HANDOFF(1, 1, Sender.MASTER),
        /** master → worker: finish your in-flight work and exit. */
        SHUTDOWN(2, 1, Sender.MASTER),
        /** master → worker: answer PONG (the SDK's reader does, whatever the app is doing). */
        PING(3, 1, Sender.MASTER),
        /**
         * master → worker, IPC 3: here are {@code count} (2 to {@link #MAX_BATCH}) connections of
         * one family: their ids in the payload, their fds in one SCM_RIGHTS, in the same order.
         */
        HANDOFFS(4, 3, Sender.MASTER),
        /**
         * master → worker, IPC 3 (shared dispatch): accept connections from this listening socket
         * (its one fd, of protocol family {@code family}) from now on; no payload.
         */
        LISTENER(5, 3, Sender.MASTER),
        /** worker → master: take me into rotation. */
        READY(10, 1, Sender.WORKER),
        /** worker → master: I hold connection {@code id} now; close your copy. */
        ACK(11, 1, Sender.WORKER),
        /** worker → master: I will not serve connection {@code id}; give it to another worker. */
        NACK(12, 1, Sender.WORKER),
        /** worker → master: {@code count} (at least 1) of the connections I was given are closed. */
        CLOSED(13, 1, Sender.WORKER),
        /** worker → master: I accept no more connections; take me out of rotation. */
        STOPPING(14, 1, Sender.WORKER),
        /** worker → master: the answer to PING: this JVM runs and reads its channel. */
        PONG(15, 1, Sender.WORKER),
        /**
         * worker → master, IPC 3: I hold these {@code count} (2 to {@link #MAX_BATCH}) connections
         * now (their ids in the payload); close your copies. ACK for several at once.
         */
        ACKS(16, 3, Sender.WORKER),
        /**
         * worker → master, IPC 3 (shared dispatch): I accepted {@code count} (at least 1)
         * connections from the shared listener since my last report.
         */
        ACCEPTED(17, 3, Sender.WORKER);

        final byte code;
        /** The protocol version that introduced the type: it is sent only on channels agreed at this or later. */
        final int version;
        final Set<Sender> senders;

        Type(int code, int version, Sender sender, Sender... more) {
            this.code = (byte) code;
            this.version = version;
            this.senders = EnumSet.of(sender, more);
        }

        /** The protocol version that introduced this type: a channel agreed at an older one never carries it. */
        public int version() {
            return version;
        }

        /**
         * The descriptors a message of this type with this {@code count} carries: one with a
         * HANDOFF or a LISTENER, {@code count} with a HANDOFFS, none with anything else.
         */
        int descriptors(int count) {
            // Not a switch: an enum switch makes a class of its own, loaded before the worker is ready.
            if (this == HANDOFF || this == LISTENER) return 1;
            return this == HANDOFFS ? count : 0;
        }

        /** True when the payload is {@code count} connection ids. */
        boolean carriesIds() {
            return this == HANDOFFS || this == ACKS;
        }

        /** Each type at its code's index (codes are below 128: bit 7 is the optional flag); read once, not cloned per message. */
        private static final Type[] BY_CODE = new Type[OPTIONAL];

        static {
            for (Type type : values()) BY_CODE[type.code] = type;
        }

        static Type of(byte code) {
            return code >= 0 ? BY_CODE[code] : null;
        }
    }

    /**
     * What is wrong with the fields this type uses, or null when nothing is: a handoff's or a
     * listener's family is 4 or 6 (it tells the worker how to rebuild the socket), a close or
     * accept report counts at least one connection, a batch names 2 to {@link #MAX_BATCH} ids in
     * a payload of exactly that many. Whether a count is plausible is for the master to judge: it
     * alone knows how many connections the worker holds.
     *
     * @param payloadLength the payload's length in bytes
     * @param text          the payload as text, for a HELLO; "" for any other type
     */
    static String invalidField(Type type, int family, int count, long id, int payloadLength, String text) {
        if ((type == Type.HANDOFF || type == Type.HANDOFFS || type == Type.LISTENER) && family != 4 && family != 6) {
            return type + " of protocol family " + family + ", not 4 or 6";
        }
        if ((type == Type.CLOSED || type == Type.ACCEPTED) && count <= 0) return type + " with a count of " + count + ", not at least 1";
        if (type == Type.HELLO) {
            if (count < 1 || id < 1 || id > count) return "HELLO with versions " + id + " to " + count + ", not 1 ≤ oldest ≤ newest";
            if (text.isEmpty() || text.length() > Protocol.MAX_VERSION_TEXT) {
                return "HELLO with a version text of " + text.length() + " bytes, not 1 to " + Protocol.MAX_VERSION_TEXT;
            }
            if (!Protocol.isPrintableAscii(text)) return "HELLO whose version text is not printable ASCII";
        } else if (type.carriesIds()) {
            if (count < 2 || count > MAX_BATCH) return type + " with a count of " + count + ", not 2 to " + MAX_BATCH;
            if (payloadLength != count * Long.BYTES) {
                return type + " counting " + count + " with a " + payloadLength + "-byte payload, not " + count * Long.BYTES + " (8 bytes an id)";
            }
        } else if (payloadLength != 0) {
            return type + " with a " + payloadLength + "-byte payload, which it may not carry";
        }
        return null;
    }

    /** True when a reader that does not know the type {@code code} skips the message. */
    static boolean isOptional(byte code) {
        return (code & OPTIONAL) != 0;
    }

    /** The passed descriptor (HANDOFF, LISTENER; HANDOFFS: the first), or -1 when none came. */
    public int fd() {
        return fds.length == 0 ? -1 : fds[0];
    }

    /** HELLO: the newest protocol version its sender speaks. */
    public int highestVersion() {
        return count;
    }

    /** HELLO: the oldest protocol version its sender speaks. */
    public int oldestVersion() {
        return (int) id;
    }

    static IpcMessage hello(int highest, int oldest, String version) {
        return new IpcMessage(Type.HELLO, 0, highest, oldest, NO_IDS, NO_FDS, version);
    }

    public static IpcMessage handoff(long id, int family, int fd) {
        return new IpcMessage(Type.HANDOFF, family, 0, id, NO_IDS, new int[]{fd}, "");
    }

    /** HANDOFFS of connections {@code ids}, passing {@code fds} (one each, same order); see {@link IpcChannel#sendHandoffs}. */
    public static IpcMessage handoffs(long[] ids, int[] fds, int family) {
        return new IpcMessage(Type.HANDOFFS, family, ids.length, 0, ids, fds, "");
    }

    /** LISTENER: accept from listening socket {@code fd}, of protocol family {@code family}. */
    public static IpcMessage listener(int fd, int family) {
        return new IpcMessage(Type.LISTENER, family, 0, 0, NO_IDS, new int[]{fd}, "");
    }

    /** ACKS of connections {@code ids}. */
    public static IpcMessage acks(long[] ids) {
        return new IpcMessage(Type.ACKS, 0, ids.length, 0, ids, NO_FDS, "");
    }

    /** ACCEPTED: {@code count} connections accepted from the shared listener since the last report. */
    public static IpcMessage accepted(int count) {
        return new IpcMessage(Type.ACCEPTED, 0, count, 0, NO_IDS, NO_FDS, "");
    }

    public static IpcMessage of(Type type) {
        return new IpcMessage(type, 0, 0, 0, NO_IDS, NO_FDS, "");
    }

    public static IpcMessage of(Type type, long id) {
        return new IpcMessage(type, 0, 0, id, NO_IDS, NO_FDS, "");
    }

    public static IpcMessage closed(int count) {
        return new IpcMessage(Type.CLOSED, 0, count, 0, NO_IDS, NO_FDS, "");
    }
}
