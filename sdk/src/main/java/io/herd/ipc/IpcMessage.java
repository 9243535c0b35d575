package io.herd.ipc;

import java.util.EnumSet;
import java.util.Set;

/**
 * One message on a master–worker IPC channel: a 16-byte header, for a HELLO a short text after
 * it, and for a handoff one passed file descriptor. SOCK_SEQPACKET keeps each message whole, so
 * there is no framing to get wrong. Each type has its senders; a reader takes only what the
 * other side may send, and only a handoff may carry a descriptor (see
 * {@link IpcChannel.Reader#read()}). The wire, each type and the handshake are described in
 * {@code docs/IPC.md}, which is the reference: change both together.
 *
 * <pre>
 *  byte 0     type; bit 7 set = optional: a reader that does not know the type skips it
 *  byte 1     protocol family of a handed-off connection (4 or 6)
 *  bytes 2-3  payload length (0 to {@value #MAX_PAYLOAD}); the payload follows the header
 *  bytes 4-7  count (CLOSED: how many connections the worker closed; HELLO: newest version)
 *  bytes 8-15 id (HANDOFF, ACK, NACK: the master's connection id; HELLO: oldest version)
 * </pre>
 *
 * <p>A worker ACKs a connection when the app takes it, and NACKs one it will not serve; until
 * either, the master keeps its copy and the connection is still the master's to place.
 *
 * @param fd   the passed descriptor, or -1
 * @param text the payload (HELLO: its sender's herd version), "" for none
 */
public record IpcMessage(Type type, int family, int count, long id, int fd, String text) {
    /** The header's size: a message without payload. */
    public static final int SIZE = 16;
    /** The most payload any message may carry, in every protocol version: a reader's buffer is sized by it. */
    public static final int MAX_PAYLOAD = 256;
    /** Bit 7 of the type byte: a reader that does not know the type skips the message instead of refusing it. */
    static final int OPTIONAL = 0x80;

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
        HELLO(20, Sender.MASTER, Sender.WORKER),
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
        final Set<Sender> senders;

        Type(int code, Sender sender, Sender... more) {
            this.code = (byte) code;
            this.senders = EnumSet.of(sender, more);
        }

        /** The descriptors a message of this type carries: one with a handoff, none with anything else. */
        int descriptors() {
            return this == HANDOFF ? 1 : 0;
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
     * What is wrong with the fields this type uses, or null when nothing is: a handoff's family
     * is 4 or 6 (it tells the worker how to rebuild the socket), a close report counts at least
     * one connection. Whether a count is plausible is for the master to judge: it alone knows
     * how many connections the worker holds.
     */
    static String invalidField(Type type, int family, int count, long id, String text) {
        if (type == Type.HANDOFF && family != 4 && family != 6) return "HANDOFF of protocol family " + family + ", not 4 or 6";
        if (type == Type.CLOSED && count <= 0) return "CLOSED with a count of " + count + ", not at least 1";
        if (type == Type.HELLO) {
            if (count < 1 || id < 1 || id > count) return "HELLO with versions " + id + " to " + count + ", not 1 ≤ oldest ≤ newest";
            if (text.isEmpty() || text.length() > Protocol.MAX_VERSION_TEXT) {
                return "HELLO with a version text of " + text.length() + " bytes, not 1 to " + Protocol.MAX_VERSION_TEXT;
            }
            if (!Protocol.isPrintableAscii(text)) return "HELLO whose version text is not printable ASCII";
        } else if (!text.isEmpty()) {
            return type + " with a " + text.length() + "-byte payload, which it may not carry";
        }
        return null;
    }

    /** True when a reader that does not know the type {@code code} skips the message. */
    static boolean isOptional(byte code) {
        return (code & OPTIONAL) != 0;
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
        return new IpcMessage(Type.HELLO, 0, highest, oldest, -1, version);
    }

    public static IpcMessage handoff(long id, int family, int fd) {
        return new IpcMessage(Type.HANDOFF, family, 0, id, fd, "");
    }

    public static IpcMessage of(Type type) {
        return new IpcMessage(type, 0, 0, 0, -1, "");
    }

    public static IpcMessage of(Type type, long id) {
        return new IpcMessage(type, 0, 0, id, -1, "");
    }

    public static IpcMessage closed(int count) {
        return new IpcMessage(Type.CLOSED, 0, count, 0, -1, "");
    }
}
