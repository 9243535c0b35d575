package io.herd.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.closeTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

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

    @Test
    void operationsAreCountedByKindAndOutcomeWithHowLongTheyTook(@TempDir Path gate) throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of("env.WHOAMI_GATE", gate.toString(), "max.instances", "2"))) {
            herd.awaitOnline(1);
            assertThat("every kind is counted from zero", herd.info().operations().stream().map(OperationStats::operation).toList(),
                    contains("scale", "reload", "gracefulReload", "restart", "memoryRestart", "healthRestart"));
            OperationResult scaled = herd.cluster.scale(2);
            assertThat(scaled.toString(), scaled.succeeded(), is(true));
            OperationResult scaledBack = herd.cluster.scaleBy(-1);
            assertThat(scaledBack.toString(), scaledBack.succeeded(), is(true));
            assertThrows(IllegalArgumentException.class, () -> herd.cluster.scaleBy(5)); // refused, not run: not counted
            Files.createFile(gate.resolve("crash-0"));
            OperationResult reload = herd.cluster.reload(); // its replacement exits at start
            assertThat(reload.toString(), reload.succeeded(), is(false));

            OperationStats scale = kind(herd.info(), "scale");
            assertThat(scale.succeeded(), is(2L));
            assertThat(scale.failed(), is(0L));
            assertThat(scale.totalSeconds(), closeTo((scaled.durationMillis() + scaledBack.durationMillis()) / 1000.0, 0.0005));
            OperationStats reloads = kind(herd.info(), "reload");
            assertThat(reloads.succeeded(), is(0L));
            assertThat(reloads.failed(), is(1L));
            assertThat(reloads.totalSeconds(), greaterThan(0.0));
            for (int i = 0; i < OperationStats.BUCKET_SECONDS.size(); i++) {
                long expected = reload.durationMillis() / 1000.0 <= OperationStats.BUCKET_SECONDS.get(i) ? 1 : 0;
                assertThat("the reload in buckets up to " + OperationStats.BUCKET_SECONDS.get(i) + " s", reloads.bucketCounts().get(i), is(expected));
            }
            assertThat(kind(herd.info(), "restart").count(), is(0L));
        }
    }

    private static OperationStats kind(ClusterInfo info, String operation) {
        return info.operations().stream().filter(stats -> stats.operation().equals(operation)).findFirst().orElseThrow();
    }
}
