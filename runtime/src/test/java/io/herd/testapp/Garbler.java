package io.herd.testapp;

import io.herd.ipc.IpcChannel;
import io.herd.ipc.IpcMessage;
import io.herd.ipc.Protocol;

import java.nio.file.Path;

/**
 * A hostile worker for the tests: the instance named by {@code GARBLE_INSTANCE} says HELLO and
 * that it is ready on its IPC channel, then sends a handoff without a descriptor — something no worker may send;
 * every other instance is a {@link WhoAmI}.
 */
public final class Garbler {
    public static void main(String[] args) throws Exception {
        if (!System.getenv().getOrDefault("GARBLE_INSTANCE", "").equals(System.getenv("HERD_INSTANCE"))) {
            WhoAmI.main(args);
            return;
        }
        try (IpcChannel channel = IpcChannel.connect(Path.of(System.getenv("HERD_IPC")))) {
            channel.send(Protocol.hello(), false);
            channel.send(IpcMessage.of(IpcMessage.Type.READY), false);
            Thread.sleep(300);
            channel.send(IpcMessage.of(IpcMessage.Type.HANDOFF), false);
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
