package io.herd.service;

import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * A worker that stops acknowledging handoffs without closing its channel — SIGSTOP, as an endless
 * pause or a stuck JVM looks to the master — under load: it must not stall the others, and the
 * connections sent to it must not wait on it for ever. It stops answering herd's pings too, so
 * after ping.timeout it is killed and its connections go to the other worker.
 */
@Timeout(300)
class HungWorkerTest {
    private static final int KEEP_ALIVE_CLIENTS = 4;
    private static final int NEW_CONNECTION_CLIENTS = 4;

    @Test
    void aHungWorkerIsKilledAndTheConnectionsWaitingOnItAreServedByTheOthers() throws Exception {
        try (HelloCluster herd = HelloCluster.start(2, Map.of("ping.timeout", "3s"))) {
            herd.awaitInfo(info -> info.online() == 2);
            long hungPid = herd.cluster.info().workers().getFirst().pid();
            long healthyPid = herd.cluster.info().workers().getLast().pid();
            List<String> keepAliveFailures;
            List<String> newConnectionFailures;
            long servedWhileHung;
            long newConnectionRequests;
            long killedAfterMillis;
            try (LoadClient keepAlive = new LoadClient(herd.port, KEEP_ALIVE_CLIENTS, 50_000_000)) {
                Await.until("1000 keep-alive requests served", keepAlive::succeeded, served -> served >= 1000, Duration.ofSeconds(60));
                // the keep-alive clients are now spread over both workers; one worker stops
                signal(hungPid, "STOP");
                long stoppedAt = System.nanoTime();
                long servedAtStop = keepAlive.succeeded();
                try (LoadClient newConnections = LoadClient.connectionPerRequest(herd.port, NEW_CONNECTION_CLIENTS, 50_000_000)) {
                    herd.awaitInfo("the hung worker replaced", info -> info.online() == 2 && info.workers().stream().noneMatch(w -> w.pid() == hungPid));
                    killedAfterMillis = (System.nanoTime() - stoppedAt) / 1_000_000;
                    servedWhileHung = keepAlive.succeeded() - servedAtStop;
                    long before = newConnections.succeeded();
                    Await.until("1000 more requests on new connections after the kill", newConnections::succeeded, // and serving on after
                            served -> served >= before + 1000, Duration.ofSeconds(60));
                    newConnections.close();
                    newConnectionFailures = newConnections.failures();
                    newConnectionRequests = newConnections.succeeded() + newConnectionFailures.size();
                } finally {
                    if (ProcessHandle.of(hungPid).map(ProcessHandle::isAlive).orElse(false)) signal(hungPid, "CONT");
                }
                keepAlive.close();
                keepAliveFailures = keepAlive.failures();
            }
            Figures.record("hung worker", String.format("SIGSTOP of 1 of 2 workers under %d keep-alive and %d connection-per-request clients, "
                            + "ping.timeout 3s: killed by herd and its instance online again %d ms after the SIGSTOP; %d requests served by the other worker meanwhile; "
                            + "connection-per-request: %d requests, %d failed; keep-alive: %d failed (in flight on the stopped worker)",
                    KEEP_ALIVE_CLIENTS, NEW_CONNECTION_CLIENTS, killedAfterMillis, servedWhileHung, newConnectionRequests,
                    newConnectionFailures.size(), keepAliveFailures.size()));

            assertThat("herd killed the hung worker", ProcessHandle.of(hungPid).map(ProcessHandle::isAlive).orElse(false), is(false));
            assertThat("and restarted its instance", herd.cluster.info().online(), is(2));
            assertThat("the other worker was left alone", herd.cluster.info().workers().stream().anyMatch(w -> w.pid() == healthyPid), is(true));
            assertThat("the other worker kept serving", servedWhileHung, greaterThan(0L));
            // Sent after the SIGSTOP, none of these was ever read by the stopped worker: each one
            // waiting on it went to another worker once it was dead.
            assertThat("connections sent to the hung worker", newConnectionFailures, is(empty()));
            assertThat("only requests in flight on the stopped worker fail: " + keepAliveFailures,
                    keepAliveFailures.size(), lessThanOrEqualTo(KEEP_ALIVE_CLIENTS));
            assertThat(herd.cluster.info().dropped(), is(0L));
        }
    }

    /** Sends SIGSTOP or SIGCONT, and waits until the process is in the state it asks for. */
    private static void signal(long pid, String signal) throws IOException, InterruptedException {
        int exit = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor();
        assertThat("kill -" + signal + " " + pid, exit, is(0));
        boolean wantStopped = signal.equals("STOP");
        Await.until("pid " + pid + (wantStopped ? " stopped" : " running again"), () -> stopped(pid) == wantStopped, Duration.ofSeconds(10));
    }

    private static boolean stopped(long pid) throws IOException {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!Files.exists(stat)) return false;
        String line = Files.readString(stat);
        return line.charAt(line.lastIndexOf(')') + 2) == 'T';
    }
}
