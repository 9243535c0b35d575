package io.herd.service;

import io.herd.config.Dispatch;
import io.herd.engine.WorkerInfo;
import io.herd.testing.Await;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * Chaos under load: for a minute (-Dherd.chaos.seconds), 8 clients load hello on 2 workers while
 * a random worker is killed with SIGKILL every 2 s. Each client has at most one request in flight,
 * so a kill may fail at most 8 requests, and never may a connection be refused.
 */
@Timeout(600)
class ChaosTest {
    private static final int CLIENTS = 8;

    @Test
    void workersKilledUnderLoadFailOnlyTheirRequestsInFlightAndCapacityReturns() throws Exception {
        killWorkersUnderLoad("chaos", Dispatch.HANDOFF, port -> new LoadClient(port, CLIENTS, 50_000_000));
    }

    /**
     * In shared dispatch the workers accept from the listening socket themselves: a killed worker's
     * copy goes with it, but the master's keeps the socket listening and its queue intact, so a
     * connection waiting there goes to the surviving worker and none is refused. A new connection
     * for every request makes every request go through that queue.
     */
    @Test
    void workersKilledUnderConnectionPerRequestLoadInSharedDispatchRefuseNoConnection() throws Exception {
        killWorkersUnderLoad("chaos, shared dispatch, connection per request", Dispatch.SHARED,
                port -> LoadClient.connectionPerRequest(port, CLIENTS, 50_000_000));
    }

    private static void killWorkersUnderLoad(String name, Dispatch dispatch, IntFunction<LoadClient> loadOn) throws Exception {
        long seconds = Long.getLong("herd.chaos.seconds", 60);
        Random random = new Random(42);
        try (HelloCluster herd = HelloCluster.start(2, dispatch, Map.of("min.uptime", "500ms"))) {
            herd.awaitInfo(info -> info.online() == 2);
            int kills = 0;
            List<String> failures;
            long requests;
            try (LoadClient load = loadOn.apply(herd.port)) {
                long end = System.nanoTime() + seconds * 1_000_000_000L;
                while (System.nanoTime() < end) {
                    long killedAt = System.nanoTime();
                    List<WorkerInfo> online = herd.cluster.info().workers().stream().filter(w -> w.state().equals("online")).toList();
                    WorkerInfo victim = online.get(random.nextInt(online.size()));
                    ProcessHandle.of(victim.pid()).ifPresent(ProcessHandle::destroyForcibly);
                    kills++;
                    herd.awaitInfo("capacity back after kill " + kills, info -> info.online() == 2
                            && info.workers().stream().noneMatch(w -> w.pid() == victim.pid()));
                    long left = killedAt + 2_000_000_000L - System.nanoTime();
                    if (left > 0) Thread.sleep(left / 1_000_000);
                }
                long before = load.succeeded();
                Await.until("1000 more requests served after the last kill", load::succeeded, served -> served >= before + 1000, Duration.ofSeconds(60));
                load.close();
                failures = load.failures();
                requests = load.succeeded() + failures.size();
            }
            List<String> refused = failures.stream().filter(f -> f.startsWith("java.net.ConnectException")).toList();
            Figures.record(name, String.format("%d s, %d clients, %d SIGKILLs: %d requests, %d failed, %d refused; capacity back after each kill",
                    seconds, CLIENTS, kills, requests, failures.size(), refused.size()));

            assertThat("no connection is refused", refused, is(empty()));
            // Each client has at most one request in flight, so a kill can fail at most that many.
            assertThat("failed requests: " + failures, failures.size(), lessThanOrEqualTo(kills * CLIENTS));
            assertThat(herd.cluster.info().dropped(), is(0L));
        }
    }
}
