package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * The service killed with SIGKILL under load: its workers follow it, and a new service takes the
 * same port at once, and removes the IPC directory the dead one could not.
 */
@Timeout(180)
class MasterDeathTest {
    @TempDir
    Path home;

    @Test
    void aMasterKilledUnderLoadLeavesNoWorkerAndANewOneStartsOnTheSamePort() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Path ipc = home.resolve("ipc");
        Path config = ServiceProcess.helloConfig(home, 2, "herd.ipc.dir = " + ipc);
        Files.writeString(config, Files.readString(config).replace("127.0.0.1:0", "127.0.0.1:" + port));

        List<ProcessHandle> workers;
        long orphanCheckNanos;
        try (ServiceProcess first = ServiceProcess.start(home, config)) {
            assertThat(first.port("hello"), is(port));
            first.awaitOutput("-> online", 2); // the workers are launched after the listening line
            workers = first.workers();
            assertThat(workers, hasSize(2));
            try (LoadClient load = new LoadClient(port, 8, 50_000_000)) {
                Await.until("1000 requests served", load::succeeded, served -> served >= 1000, Duration.ofSeconds(60));
                first.process.destroyForcibly(); // SIGKILL: no shutdown hook, no goodbye
                first.waitFor(Duration.ofSeconds(30));
                long killed = System.nanoTime();
                // They exit by themselves (within about a second: the SDK halts 1 s after the channel
                // ends). The bound is generous, as on a loaded machine a JVM's exit may take a while:
                // what is asserted is that they go without anyone killing them, not how fast.
                while (workers.stream().anyMatch(w -> ServiceProcess.running(w.pid())) && System.nanoTime() - killed < 15_000_000_000L) {
                    Thread.sleep(20);
                }
                orphanCheckNanos = System.nanoTime() - killed;
                assertThat("workers alive 15 s after the master died", workers.stream().filter(w -> ServiceProcess.running(w.pid())).toList(), is(empty()));
            }
            assertThat("the dead master's IPC directory, left behind", ipcDirs(ipc), hasSize(1));
        }

        try (ServiceProcess second = ServiceProcess.start(home, config)) {
            assertThat(second.port("hello"), is(port));
            second.awaitOutput("-> online", 2);
            List<Path> now = ipcDirs(ipc);
            assertThat("only the new master's IPC directory: " + now, now, hasSize(1));
            assertThat(now.getFirst().getFileName().toString(), startsWith("herd-" + second.process.pid() + "-"));
            try (LoadClient load = new LoadClient(port, 4, 2_000)) {
                Await.until("2,000 requests answered, or one failed",
                        () -> load.succeeded() + load.failures().size() >= 2_000 || !load.failures().isEmpty(), Duration.ofSeconds(60));
                load.close();
                assertThat(load.failures(), is(empty()));
                assertThat(load.succeeded(), is(2_000L));
            }
        }
        Figures.record("master death", "SIGKILL under load (8 clients): both workers gone within " + orphanCheckNanos / 1_000_000
                + " ms; a new service bound the same port, removed the dead one's IPC directory, and served 2,000 requests without a failure");
    }

    private static List<Path> ipcDirs(Path base) throws java.io.IOException {
        try (var dirs = Files.list(base)) {
            return dirs.toList();
        }
    }
}
