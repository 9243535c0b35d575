package io.herd.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;

/** What operators see of a cluster ({@link Cluster#info}), taken on its event thread, whenever they ask. */
@Timeout(60)
class ClusterInfoTest {

    @Test
    void aStoppedClusterStillAnswersWithItsWorkersStopped() throws Exception {
        TestCluster herd = TestCluster.start(2, Map.of());
        try (herd) {
            herd.awaitOnline(2);
        }
        ClusterInfo stopped = herd.info();
        assertThat(stopped.online(), is(0));
        assertThat(stopped.workers(), hasSize(2));
        assertThat(stopped.workers().stream().map(WorkerInfo::state).toList(), everyItem(is("stopped")));
    }

    @Test
    void aListenerOnTheEventThreadCanAskForASnapshot() throws Exception {
        List<String> seenOnline = new CopyOnWriteArrayList<>();
        try (TestCluster herd = TestCluster.start(1, Map.of())) {
            herd.awaitOnline(1);
            herd.cluster.addListener(event -> {
                if (event.to() != WorkerState.ONLINE) return;
                ClusterInfo now = herd.cluster.info();
                now.workers().stream().filter(worker -> worker.pid() == event.pid()).forEach(worker -> seenOnline.add(worker.state()));
            });
            assertThat(herd.cluster.scale(2).succeeded(), is(true));
            assertThat("what the listener saw as the worker came online", seenOnline, contains("online"));
        }
    }
}
