package io.herd.testapp;

import io.herd.ipc.IpcMessage.Type;
import io.herd.ipc.JdkSockets;
import io.herd.ipc.Protocol;
import io.herd.ipc.RawIpcPeer;

import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A worker of another herd-sdk than this build's, for the handshake tests: the instance named by
 * {@code PEER_INSTANCE} speaks the IPC protocol as {@code PEER_MODE} says, over a raw channel;
 * every other instance is a {@link WhoAmI}. Each launch of that instance adds a file to the
 * directory {@code PEER_LAUNCHES}.
 * <ul>
 * <li>{@code ipc1}: an SDK from before the handshake: READY first, then it answers pings.
 * <li>{@code too-old}: HELLO for IPC 1 only (SDK "0.0.9"), then it answers pings.
 * <li>{@code too-new}: HELLO for IPC {@link Protocol#VERSION} + 1 and up only (SDK "9.9.9").
 * <li>{@code optional}: a newer SDK: after the handshake it sends a message of a type this build
 *     does not know, marked optional, with a payload and a descriptor, before and after READY;
 *     then it serves its connections as a {@link WhoAmI} does.
 * <li>{@code mandatory}: after the handshake, a message of an unknown type not marked optional.
 * <li>{@code silent}: connects, and never says anything.
 * <li>{@code ipc2}: an SDK of IPC 2 (HELLO 2 to 2, SDK "0.1.0"): serves single HANDOFFs as a
 *     {@link WhoAmI} does, and exits with status 3 at a HANDOFFS, which IPC 2 does not have.
 * <li>{@code acks}: serves as a {@link WhoAmI} does, and acknowledges each HANDOFFS with one ACKS.
 * <li>{@code batch-then-die}: serves single HANDOFFs; at the first HANDOFFS it writes the file
 *     {@code PEER_LAUNCHES/handoffs-<pid>} (the number of connections in it), ACKs the first
 *     connection and answers its client's first line, NACKs the second, and exits with the rest
 *     unacknowledged: a worker dying mid-batch.
 * <li>{@code accepted-unasked}: after the handshake and READY, reports an ACCEPTED though it was
 *     passed no listening socket.
 * <li>{@code serve-then-MODE}: its first launch is a {@link WhoAmI} (this build's SDK), later ones
 *     speak MODE: an app rebuilt with another SDK, which a reload then tries to start.
 * </ul>
 */
public final class ProtocolPeer {
    /** A type code no herd version uses (yet), without and with the optional bit. */
    public static final int UNKNOWN_TYPE = 0x33, UNKNOWN_OPTIONAL_TYPE = 0x80 | UNKNOWN_TYPE;

    public static void main(String[] args) throws Exception {
        if (!System.getenv().getOrDefault("PEER_INSTANCE", "").equals(System.getenv("HERD_INSTANCE"))) {
            WhoAmI.main(args);
            return;
        }
        Path launches = Path.of(System.getenv("PEER_LAUNCHES"));
        Files.createFile(launches.resolve("launch-" + ProcessHandle.current().pid()));
        String mode = System.getenv("PEER_MODE");
        if (mode.startsWith("serve-then-")) {
            try (var launched = Files.list(launches)) {
                if (launched.count() == 1) {
                    WhoAmI.main(args);
                    return;
                }
            }
            mode = mode.substring("serve-then-".length());
        }
        try (RawIpcPeer master = RawIpcPeer.connect(Path.of(System.getenv("HERD_IPC")))) {
            switch (mode) {
                case "ipc1" -> {
                    master.send(RawIpcPeer.message(Type.READY, 0, 0, 0));
                    master.answerPings();
                }
                case "too-old" -> {
                    master.send(RawIpcPeer.hello(1, 1, "0.0.9"));
                    master.answerPings();
                }
                case "too-new" -> {
                    master.send(RawIpcPeer.hello(Protocol.VERSION + 5, Protocol.VERSION + 1, "9.9.9"));
                    master.answerPings();
                }
                case "optional" -> {
                    greet(master);
                    sendUnknownOptional(master);
                    master.send(RawIpcPeer.message(Type.READY, 0, 0, 0));
                    sendUnknownOptional(master);
                    serve(master, ProtocolPeer::serveAll);
                }
                case "mandatory" -> {
                    greet(master);
                    master.send(RawIpcPeer.frame(UNKNOWN_TYPE, 0, 0, 0, new byte[0]));
                    master.answerPings();
                }
                case "silent" -> master.answerPings();
                case "accepted-unasked" -> {
                    greet(master);
                    master.send(RawIpcPeer.message(Type.READY, 0, 0, 0));
                    master.send(RawIpcPeer.message(Type.ACCEPTED, 0, 1, 0));
                    master.answerPings();
                }
                case "ipc2" -> {
                    greet(master, 2, 2, "0.1.0");
                    master.send(RawIpcPeer.message(Type.READY, 0, 0, 0));
                    serve(master, ProtocolPeer::refuseBatch);
                }
                case "acks" -> {
                    greet(master);
                    master.send(RawIpcPeer.message(Type.READY, 0, 0, 0));
                    serve(master, ProtocolPeer::serveAll);
                }
                case "batch-then-die" -> {
                    greet(master);
                    master.send(RawIpcPeer.message(Type.READY, 0, 0, 0));
                    serve(master, ProtocolPeer::serveFirstRefuseSecondAndDie);
                }
                default -> throw new IllegalArgumentException("no such PEER_MODE: " + mode);
            }
        }
        System.exit(0);
    }

    /** Says HELLO as this build does, and reads the master's. */
    private static void greet(RawIpcPeer master) throws Exception {
        greet(master, Protocol.VERSION, Protocol.OLDEST, "0.9.0-newer");
    }

    /** Says HELLO for IPC {@code oldest} to {@code highest} as herd-sdk {@code version}, and reads the master's. */
    private static void greet(RawIpcPeer master, int highest, int oldest, String version) throws Exception {
        master.send(RawIpcPeer.hello(highest, oldest, version));
        RawIpcPeer.Received hello = master.receive();
        if (hello == null || !hello.is(Type.HELLO)) throw new IllegalStateException("the master did not answer with HELLO");
    }

    private static void sendUnknownOptional(RawIpcPeer master) throws Exception {
        int[] attached = RawIpcPeer.descriptors(1);
        try {
            master.send(RawIpcPeer.frame(UNKNOWN_OPTIONAL_TYPE, 0, 7, 7, "from the future".getBytes(StandardCharsets.US_ASCII)), attached);
        } finally {
            RawIpcPeer.closeAll(attached);
        }
    }

    /** What a peer does with a HANDOFFS. */
    private interface BatchTaker {
        /** @return true when the peer stops serving */
        boolean take(RawIpcPeer master, RawIpcPeer.Received handoffs, String me) throws Exception;
    }

    /**
     * What the SDK does, in short: takes each handoff, acknowledges it and serves it; answers
     * pings; exits when told to stop. A HANDOFFS goes to {@code batches}.
     */
    private static void serve(RawIpcPeer master, BatchTaker batches) throws Exception {
        String me = System.getenv("HERD_INSTANCE") + " " + ProcessHandle.current().pid();
        for (RawIpcPeer.Received message = master.receive(); message != null; message = master.receive()) {
            if (message.is(Type.PING)) {
                master.send(RawIpcPeer.message(Type.PONG, 0, 0, 0));
            } else if (message.is(Type.HANDOFF)) {
                SocketChannel connection = JdkSockets.channelOf(message.fds()[0], message.family());
                master.send(RawIpcPeer.message(Type.ACK, 0, 0, message.id()));
                Thread.startVirtualThread(() -> WhoAmI.serveBlocking(connection, me));
            } else if (message.is(Type.HANDOFFS)) {
                if (batches.take(master, message, me)) return;
            } else if (message.is(Type.SHUTDOWN)) {
                return;
            } else {
                RawIpcPeer.closeAll(message.fds());
            }
        }
    }

    /** Acknowledges every connection of a HANDOFFS in one ACKS, and serves them. */
    private static boolean serveAll(RawIpcPeer master, RawIpcPeer.Received handoffs, String me) throws Exception {
        long[] ids = handoffs.ids();
        master.send(RawIpcPeer.withIds(Type.ACKS, 0, ids.length, ids));
        for (int fd : handoffs.fds()) {
            SocketChannel connection = JdkSockets.channelOf(fd, handoffs.family());
            Thread.startVirtualThread(() -> WhoAmI.serveBlocking(connection, me));
        }
        return false;
    }

    /** An IPC-2 peer knows no HANDOFFS: a master sending it one is broken. */
    private static boolean refuseBatch(RawIpcPeer master, RawIpcPeer.Received handoffs, String me) {
        System.err.println("an IPC-2 worker got a HANDOFFS of " + handoffs.fds().length + " connections");
        System.exit(3);
        return true;
    }

    /** ACKs and serves the first connection, NACKs the second, and dies with the rest unacknowledged. */
    private static boolean serveFirstRefuseSecondAndDie(RawIpcPeer master, RawIpcPeer.Received handoffs, String me) throws Exception {
        long[] ids = handoffs.ids();
        int[] fds = handoffs.fds();
        Files.writeString(Path.of(System.getenv("PEER_LAUNCHES")).resolve("handoffs-" + ProcessHandle.current().pid()),
                Integer.toString(ids.length));
        SocketChannel first = JdkSockets.channelOf(fds[0], handoffs.family());
        master.send(RawIpcPeer.message(Type.ACK, 0, 0, ids[0]));
        RawIpcPeer.closeAll(new int[]{fds[1]});
        master.send(RawIpcPeer.message(Type.NACK, 0, 0, ids[1]));
        WhoAmI.answerOneLine(first, me);
        return true; // and the process exits, holding the rest
    }
}
