package io.herd.service;

import io.herd.engine.ClusterInfo;
import io.herd.engine.WorkerInfo;
import io.herd.examples.plain.Plain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.aMapWithSize;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

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
}
