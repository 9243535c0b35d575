package io.herd.internal;

/**
 * One message on a master–worker IPC channel: 16 bytes, and for a handoff one passed file
 * descriptor. SOCK_SEQPACKET keeps each message whole, so there is no framing to get wrong.
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

    public enum Type {
        /** master → worker: here is a connection (with its fd). */
        HANDOFF(1),
        /** master → worker: finish your in-flight work and exit. */
        SHUTDOWN(2),
        /** master → worker: answer PONG (the SDK's reader does, whatever the app is doing). */
        PING(3),
        /** worker → master: take me into rotation. */
        READY(10),
        /** worker → master: I hold connection {@code id} now; close your copy. */
        ACK(11),
        /** worker → master: I will not serve connection {@code id}; give it to another worker. */
        NACK(12),
        /** worker → master: {@code count} of the connections I was given are closed. */
        CLOSED(13),
        /** worker → master: I accept no more connections; take me out of rotation. */
        STOPPING(14),
        /** worker → master: the answer to PING: this JVM runs and reads its channel. */
        PONG(15);

        final byte code;

        Type(int code) {
            this.code = (byte) code;
        }

        static Type of(byte code) {
            for (Type type : values()) {
                if (type.code == code) return type;
            }
            return null;
        }
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
