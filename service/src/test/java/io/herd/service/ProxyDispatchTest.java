package io.herd.service;

import io.herd.engine.ClusterInfo;
import io.herd.engine.OperationResult;
import io.herd.engine.WorkerInfo;
import io.herd.examples.plain.Plain;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.aMapWithSize;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/** The plain example — the JDK's HTTP server, no herd code in it — clustered in proxy dispatch. */
@Timeout(300)
class ProxyDispatchTest {

    private static HelloCluster plain(int instances) throws Exception {
        return HelloCluster.start(instances, Map.of("classpath", HelloCluster.location(Plain.class), "main", Plain.class.getName(),
                "dispatch", "proxy", "kill.timeout", "2s"));
    }

    @Test
    void theUnmodifiedAppIsServedRoundRobinAcrossItsWorkers() throws Exception {
        try (HelloCluster herd = plain(2)) {
            ClusterInfo info = herd.awaitInfo(seen -> seen.online() == 2);
            List<String> bodies = new java.util.ArrayList<>();
            for (int i = 0; i < 100; i++) bodies.add(Http.get(herd.port, "/").body());

            Map<String, Long> perWorker = bodies.stream().collect(Collectors.groupingBy(body -> body, Collectors.counting()));
            assertThat(perWorker, is(aMapWithSize(2)));
            assertThat(List.copyOf(perWorker.values()), everyItem(is(50L)));
            for (WorkerInfo worker : info.workers()) assertThat(perWorker.containsKey("hello from " + worker.pid() + "\n"), is(true));
            ClusterInfo after = herd.awaitInfo(seen -> seen.open() == 0);
            assertThat(after.workers().stream().map(WorkerInfo::bytesOut).toList(), everyItem(greaterThan(0L)));
        }
    }

    @Test
    void reloadsAndScalingUnderLoadFailNoRequest() throws Exception {
        try (HelloCluster herd = plain(2)) {
            herd.awaitInfo(info -> info.online() == 2);
            herd.reloadAndScaleUnderLoadFailingNoRequest(2, 1);
        }
    }

    /**
     * The issue-16 case: an HTTP/1.1 server with no graceful shutdown of its own (Plain, abrupt: at
     * SIGTERM its JVM just exits) under keep-alive load while it is reloaded. With proxy.http, the
     * master closes each keep-alive connection of a leaving worker right after a complete response
     * (with Connection: close, which the clients honour by reconnecting), so nothing is left for
     * the SIGTERM to cut.
     */
    @Test
    void aReloadUnderKeepAliveLoadOfAnAppWithoutGracefulShutdownFailsNoRequest() throws Exception {
        assertThat("failed requests", reloadUnderKeepAliveLoad("true"), is(empty()));
    }

    /** The same without proxy.http: the keep-alive connections still open at kill.timeout are cut, and requests fail. */
    @Test
    void withoutProxyHttpTheSameReloadCutsTheKeepAliveConnections() throws Exception {
        assertThat("failed requests", reloadUnderKeepAliveLoad("false"), is(not(empty())));
    }

    /** Reloads abrupt Plain (2 workers) under 10 keep-alive clients; returns the failed requests. */
    private static List<String> reloadUnderKeepAliveLoad(String proxyHttp) throws Exception {
        try (HelloCluster herd = HelloCluster.start(2, Map.of("classpath", HelloCluster.location(Plain.class), "main", Plain.class.getName(),
                "dispatch", "proxy", "proxy.http", proxyHttp, "env.PLAIN_SHUTDOWN", "abrupt", "kill.timeout", "2s"))) {
            herd.awaitInfo(info -> info.online() == 2);
            try (LoadClient load = new LoadClient(herd.port, 10, 5_000_000)) {
                Await.until("1000 requests served, on the first workers", load::succeeded, served -> served >= 1000, Duration.ofSeconds(60));
                OperationResult reload = herd.cluster.reload();
                assertThat(reload.toString(), reload.succeeded(), is(true));
                long before = load.succeeded();
                Await.until("1000 more requests served after the reload", load::succeeded, served -> served >= before + 1000, Duration.ofSeconds(60));
                load.close();
                assertThat(herd.info().dropped(), is(0L));
                return load.failures();
            }
        }
    }
}
