package io.herd.testapp;

import io.herd.HerdWorker;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A worker for the tests: for every line a client sends it answers one line,
 * {@code <instance> <pid> <client address as it sees it>}. It serves each connection the way
 * {@code WHOAMI_MODE} says: {@code blocking} (a platform thread each), {@code virtual} (a
 * virtual thread each) or {@code selector} (non-blocking, one selector thread), to prove the
 * SDK's channels work all three ways. {@code WHOAMI_READY_DELAY_MS} delays {@code ready()}.
 * {@code WHOAMI_STALL_INSTANCE=i}: instance i says it is ready but never accepts, and closes its
 * HerdWorker after {@code WHOAMI_STALL_MS}, handing back what was queued for it.
 * {@code WHOAMI_CRASH_INSTANCE=i}: instance i exits with status 3 as soon as it starts.
 * {@code WHOAMI_ACCEPTORS=n}: n threads call {@code accept()} at once (one without it).
 * {@code WHOAMI_GATE=dir}: a test's switches for each new JVM of instance i — it exits with
 * status 3 at start while {@code dir/crash-i} exists, and calls {@code ready()} only once
 * {@code dir/hold-i} does not; once {@code dir/close-i} exists it closes its HerdWorker (its
 * main thread waiting in {@code accept()}), waits for the SDK's {@code herd-accept} threads to
 * end, and writes {@code dir/closed-i} saying how many are left (0), then idles.
 */
public final class WhoAmI {
    public static void main(String[] args) throws Exception {
        String mode = System.getenv().getOrDefault("WHOAMI_MODE", "virtual");
        long readyDelay = Long.parseLong(System.getenv().getOrDefault("WHOAMI_READY_DELAY_MS", "0"));
        if (System.getenv().getOrDefault("WHOAMI_CRASH_INSTANCE", "").equals(System.getenv("HERD_INSTANCE"))) System.exit(3);
        Path gate = System.getenv("WHOAMI_GATE") == null ? null : Path.of(System.getenv("WHOAMI_GATE"));
        if (gate != null && Files.exists(gate.resolve("crash-" + System.getenv("HERD_INSTANCE")))) System.exit(3);
        HerdWorker worker = HerdWorker.start(new InetSocketAddress("127.0.0.1", 0));
        String me = worker.instance() + " " + ProcessHandle.current().pid();
        Selector selector = mode.equals("selector") ? Selector.open() : null;
        if (selector != null) Thread.ofPlatform().daemon().start(() -> selectLoop(selector, me));
        Thread.sleep(readyDelay);
        while (gate != null && Files.exists(gate.resolve("hold-" + worker.instance()))) Thread.sleep(20);
        worker.ready();
        if (gate != null) Thread.ofPlatform().daemon().start(() -> closeWhenTold(worker, gate));
        if (System.getenv().getOrDefault("WHOAMI_STALL_INSTANCE", "").equals(Integer.toString(worker.instance()))) {
            Thread.sleep(Long.parseLong(System.getenv().getOrDefault("WHOAMI_STALL_MS", "2000")));
            worker.close();
            Thread.sleep(Long.MAX_VALUE);
        }
        int acceptors = Integer.parseInt(System.getenv().getOrDefault("WHOAMI_ACCEPTORS", "1"));
        for (int i = 1; i < acceptors; i++) {
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    acceptLoop(worker, mode, selector, me);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        acceptLoop(worker, mode, selector, me);
    }

    /** Takes the worker's connections until it stops accepting, serving each as {@code mode} says. */
    private static void acceptLoop(HerdWorker worker, String mode, Selector selector, String me) throws IOException {
        while (true) {
            SocketChannel channel;
            try {
                channel = worker.accept();
            } catch (ClosedChannelException stopping) {
                return;
            }
            switch (mode) {
                case "blocking" -> Thread.ofPlatform().daemon().start(() -> serveBlocking(channel, me));
                case "selector" -> {
                    channel.configureBlocking(false);
                    channel.register(selector.wakeup(), SelectionKey.OP_READ, ByteBuffer.allocate(1024));
                    selector.wakeup();
                }
                default -> Thread.startVirtualThread(() -> serveBlocking(channel, me));
            }
        }
    }

    /** {@code WHOAMI_GATE}: closes the worker once {@code close-i} exists, and says whether its shared listeners' threads ended. */
    private static void closeWhenTold(HerdWorker worker, Path gate) {
        try {
            while (!Files.exists(gate.resolve("close-" + worker.instance()))) Thread.sleep(20);
            Thread.ofPlatform().daemon(false).start(WhoAmI::sleepForever); // the JVM lives on once the main thread returns
            worker.close();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (acceptThreads() > 0 && System.nanoTime() < deadline) Thread.sleep(10);
            Files.writeString(gate.resolve("closed-" + worker.instance()), Long.toString(acceptThreads()));
        } catch (InterruptedException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long acceptThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(thread -> thread.getName().equals("herd-accept") && thread.isAlive()).count();
    }

    private static void sleepForever() {
        try {
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException ignored) {
            // ends the JVM's wait
        }
    }

    /** Answers each line the client sends until it leaves, then closes the connection. */
    static void serveBlocking(SocketChannel channel, String me) {
        ByteBuffer buffer = ByteBuffer.allocate(1024);
        try (channel) {
            while (channel.read(buffer) >= 0) answerLines(channel, buffer, me);
        } catch (IOException gone) {
            // client left
        }
    }

    private static void selectLoop(Selector selector, String me) {
        while (true) {
            try {
                selector.select();
                for (SelectionKey key : selector.selectedKeys()) {
                    SocketChannel channel = (SocketChannel) key.channel();
                    ByteBuffer buffer = (ByteBuffer) key.attachment();
                    try {
                        if (channel.read(buffer) < 0) {
                            key.cancel();
                            channel.close();
                        } else {
                            answerLines(channel, buffer, me);
                        }
                    } catch (IOException gone) {
                        key.cancel();
                        channel.close();
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Answers the first line the client sends, then closes the connection. */
    static void answerOneLine(SocketChannel channel, String me) {
        ByteBuffer buffer = ByteBuffer.allocate(1024);
        try (channel) {
            while (channel.read(buffer) >= 0) {
                if (answerLines(channel, buffer, me)) return;
            }
        } catch (IOException gone) {
            // client left
        }
    }

    /**
     * Answers each complete line in the buffer; keeps a partial one for the next read.
     *
     * @return true when it answered at least one line
     */
    private static boolean answerLines(SocketChannel channel, ByteBuffer buffer, String me) throws IOException {
        buffer.flip();
        int lineStart = 0;
        for (int i = 0; i < buffer.limit(); i++) {
            if (buffer.get(i) != '\n') continue;
            String answer = me + " " + channel.getRemoteAddress() + "\n";
            ByteBuffer out = ByteBuffer.wrap(answer.getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) channel.write(out);
            lineStart = i + 1;
        }
        buffer.position(lineStart);
        buffer.compact();
        return lineStart > 0;
    }
}
