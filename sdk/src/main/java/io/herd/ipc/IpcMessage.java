package io.herd.ipc;

/**
 * One message on a master–worker IPC channel: 16 bytes, and for a handoff one passed file
 * descriptor. SOCK_SEQPACKET keeps each message whole, so there is no framing to get wrong.
 * Each type has one {@link Sender}; a reader takes only what the other side may send, and
 * only a handoff may carry a descriptor (see {@link IpcChannel.Reader#read()}).
 *
 * <pre>
 *  byte 0     type
 *  byte 1     protocol family of a handed-off connection (4 or 6)
 *  bytes 4-7  count (CLOSED: how many connections the worker closed)
 *  bytes 8-15 id (HANDOFF, ACK, NACK: the master's connection id)
 * </pre>
 *
 * <p>A worker ACKs a connection when the app takes it, and NACKs one it will not serve; until
 * either, the master keeps its copy and the connection is still the master's to place.
 *
 * @param fd the passed descriptor, or -1
 */
public record IpcMessage(Type type, int family, int count, long id, int fd) {
    public static final int SIZE = 16;

    /** Which end of the channel sends a message type. */
    public enum Sender {
        MASTER, WORKER;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public enum Type {
        /** master → worker: here is a connection (with its fd). */
        HANDOFF(1, Sender.MASTER),
        /** master → worker: finish your in-flight work and exit. */
        SHUTDOWN(2, Sender.MASTER),
        /** master → worker: answer PONG (the SDK's reader does, whatever the app is doing). */
        PING(3, Sender.MASTER),
        /** worker → master: take me into rotation. */
        READY(10, Sender.WORKER),
        /** worker → master: I hold connection {@code id} now; close your copy. */
        ACK(11, Sender.WORKER),
        /** worker → master: I will not serve connection {@code id}; give it to another worker. */
        NACK(12, Sender.WORKER),
        /** worker → master: {@code count} (at least 1) of the connections I was given are closed. */
        CLOSED(13, Sender.WORKER),
        /** worker → master: I accept no more connections; take me out of rotation. */
        STOPPING(14, Sender.WORKER),
        /** worker → master: the answer to PING: this JVM runs and reads its channel. */
        PONG(15, Sender.WORKER);

        final byte code;
        final Sender sender;

        Type(int code, Sender sender) {
            this.code = (byte) code;
            this.sender = sender;
        }

        /** The descriptors a message of this type carries: one with a handoff, none with anything else. */
        int descriptors() {
            return this == HANDOFF ? 1 : 0;
        }

        static Type of(byte code) {
            for (Type type : values()) {
                if (type.code == code) return type;
            }
            return null;
        }
    }

    /**
     * What is wrong with the fields this type uses, or null when nothing is: a handoff's family
     * is 4 or 6 (it tells the worker how to rebuild the socket), a close report counts at least
     * one connection. Whether a count is plausible is for the master to judge: it alone knows
     * how many connections the worker holds.
     */
    static String invalidField(Type type, int family, int count) {
        if (type == Type.HANDOFF && family != 4 && family != 6) return "HANDOFF of protocol family " + family + ", not 4 or 6";
        if (type == Type.CLOSED && count <= 0) return "CLOSED with a count of " + count + ", not at least 1";
        return null;
    }

    public static IpcMessage handoff(long id, int family, int fd) {
        return new IpcMessage(Type.HANDOFF, family, 0, id, fd);
    }

    public static IpcMessage of(Type type) {
        return new IpcMessage(type, 0, 0, 0, -1);
    }

    public static IpcMessage of(Type type, long id) {
        return new IpcMessage(type, 0, 0, id, -1);
    }

    public static IpcMessage closed(int count) {
        return new IpcMessage(Type.CLOSED, 0, count, 0, -1);
    }
}
