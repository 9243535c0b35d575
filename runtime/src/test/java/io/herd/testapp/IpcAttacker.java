package io.herd.testapp;

import io.herd.ipc.IpcMessage.Type;
import io.herd.ipc.RawIpcPeer;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A hostile worker for the tests: the instance named by {@code HOSTILE_INSTANCE} follows
 * {@code HOSTILE_PLAN}, a comma-separated list of what to do at each successive launch (counted
 * in the directory {@code HOSTILE_STATE}): {@code serve} (be a {@link WhoAmI}), or one of
 * {@link #descriptorAttacks()}, {@link #countLies()} or {@link #idLies()}, sent over its IPC channel with a raw
 * sendmsg right after its HELLO. Launches beyond the plan serve; so does every other instance.
 *
 * <p>After a descriptor attack it waits, silent, to be stopped. After a lie about its counts it
 * answers the master's pings: a worker that otherwise looks healthy, so that nothing but the lie
 * can get it stopped.
 */
public final class IpcAttacker {
    /** A message and the descriptors to attach, one number per SCM_RIGHTS control message. */
    private record Attack(String name, byte[] data, int... cmsgs) {
        Attack(String name, Type type, int family, int count, int... cmsgs) {
            this(name, RawIpcPeer.message(type, family, count, 1), cmsgs);
        }
    }

    private static final List<Attack> DESCRIPTOR_ATTACKS = List.of(
            new Attack("READY with a descriptor", Type.READY, 0, 0, 1),
            new Attack("ACK with a descriptor", Type.ACK, 0, 0, 1),
            new Attack("NACK with a descriptor", Type.NACK, 0, 0, 1),
            new Attack("PONG with a descriptor", Type.PONG, 0, 0, 1),
            new Attack("CLOSED with a descriptor", Type.CLOSED, 0, 1, 1),
            new Attack("STOPPING with a descriptor", Type.STOPPING, 0, 0, 1),
            new Attack("HANDOFF with a descriptor", Type.HANDOFF, 4, 0, 1),
            new Attack("READY with two descriptors in one control message", Type.READY, 0, 0, 2),
            new Attack("ACK with one descriptor in each of two control messages", Type.ACK, 0, 0, 1, 1),
            new Attack("NACK with 253 descriptors", Type.NACK, 0, 0, 253),
            new Attack("an empty message with a descriptor", new byte[0], 1));

    private static final List<Attack> COUNT_LIES = List.of(
            new Attack("CLOSED with a negative count", Type.CLOSED, 0, -1),
            new Attack("CLOSED of a connection it was never given", Type.CLOSED, 0, 1));

    /**
     * Acknowledgements of connections it was never given: no worker that follows the protocol
     * sends one, and one for a connection whose handoff is still on its way would close the
     * master's copy while its descriptor number is about to be sent.
     */
    private static final List<Attack> ID_LIES = List.of(
            new Attack("ACK of a connection it was never given", RawIpcPeer.message(Type.ACK, 0, 0, 1)),
            new Attack("NACK of a connection it was never given", RawIpcPeer.message(Type.NACK, 0, 0, 1)),
            new Attack("ACKS of connections it was never given", RawIpcPeer.withIds(Type.ACKS, 0, 2, 1, 2)));

    /** The descriptor attacks it knows, by name, for {@code HOSTILE_PLAN}. */
    public static List<String> descriptorAttacks() {
        return DESCRIPTOR_ATTACKS.stream().map(Attack::name).toList();
    }

    /** The lies about its closed connections it knows, by name, for {@code HOSTILE_PLAN}. */
    public static List<String> countLies() {
        return COUNT_LIES.stream().map(Attack::name).toList();
    }

    /** The lies about connections it was given, by name, for {@code HOSTILE_PLAN}. */
    public static List<String> idLies() {
        return ID_LIES.stream().map(Attack::name).toList();
    }

    public static void main(String[] args) throws Exception {
        String step = "serve";
        if (System.getenv().getOrDefault("HOSTILE_INSTANCE", "").equals(System.getenv("HERD_INSTANCE"))) {
            List<String> plan = List.of(System.getenv("HOSTILE_PLAN").split(","));
            int launch = countLaunch(Path.of(System.getenv("HOSTILE_STATE")));
            if (launch < plan.size()) step = plan.get(launch);
        }
        if (step.equals("serve")) {
            WhoAmI.main(args);
            return;
        }
        String named = step;
        Attack attack = Stream.of(DESCRIPTOR_ATTACKS, COUNT_LIES, ID_LIES).flatMap(List::stream)
                .filter(known -> known.name().equals(named)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no such attack: " + named));
        try (RawIpcPeer master = RawIpcPeer.connect(Path.of(System.getenv("HERD_IPC")))) {
            master.send(RawIpcPeer.hello()); // a worker of this herd's IPC version: the attack comes after the handshake
            int[][] groups = new int[attack.cmsgs().length][];
            for (int i = 0; i < groups.length; i++) groups[i] = RawIpcPeer.descriptors(attack.cmsgs()[i]);
            master.send(attack.data(), groups);
            if (countLies().contains(named) || idLies().contains(named)) master.answerPings();
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    /** This launch's number, from 0: the first launch-N file this JVM manages to create. */
    private static int countLaunch(Path state) throws IOException {
        for (int launch = 0; ; launch++) {
            try {
                Files.createFile(state.resolve("launch-" + launch));
                return launch;
            } catch (FileAlreadyExistsException taken) {
                // an earlier launch's
            }
        }
    }
}
