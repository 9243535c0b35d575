package io.herd.testapp;

import io.herd.HerdWorker;

import java.net.InetSocketAddress;

/**
 * A worker that only starts, says it is ready and idles: whatever its JVM loads before READY is
 * the SDK's doing. So it has no code that spins classes of its own (no lambda, no string
 * concatenation).
 */
public final class ReadyAndIdle {
    public static void main(String[] args) throws Exception {
        HerdWorker worker = HerdWorker.start(new InetSocketAddress("127.0.0.1", 0));
        worker.ready();
        Thread.sleep(Long.MAX_VALUE);
    }
}
