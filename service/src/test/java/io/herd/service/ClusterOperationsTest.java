package io.herd.service;

import io.herd.config.Dispatch;
import io.herd.engine.ClusterInfo;
import io.herd.engine.OperationResult;
import io.herd.engine.WorkerInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** scale, reload, gracefulReload and restart on the real hello app, under load. */
@Timeout(300)
class ClusterOperationsTest {

    @Test
    void reloadsAndScalingUnderLoadFailNoRequest() throws Exception {
        try (HelloCluster herd = HelloCluster.start(2, Map.of())) {
            herd.awaitInfo(info -> info.online() == 2);
            herd.reloadAndScaleUnderLoadFailingNoRequest(3, 3);
        }
    }

    /**
     * In shared dispatch the workers accept from the listening socket themselves: a worker leaving
     * (reload, scale-in) stops accepting and what waits in the socket's queue must go to the others.
     * Clients opening a connection for every request keep that queue busy throughout.
     */
    @Test
    void reloadsAndScalingUnderLoadInSharedDispatchFailNoRequest() throws Exception {
        try (HelloCluster herd = HelloCluster.start(2, Dispatch.SHARED, Map.of())) {
            herd.awaitInfo(info -> info.online() == 2);
            herd.reloadAndScaleUnderLoadFailingNoRequest(3, 3, 4);
        }
    }

    @Test
    void aSlowRequestInFlightWhenAGracefulReloadStartsIsAnswered() throws Exception {
        try (HelloCluster herd = HelloCluster.start(1, Map.of())) {
            herd.awaitInfo(info -> info.online() == 1);
            try (Http.Sent slow = Http.send(herd.port, "/sleep?ms=1500")) {
                herd.awaitInfo(info -> info.open() == 1); // the worker's app has taken it

                OperationResult result = herd.cluster.gracefulReload();

                assertSucceeded(result);
                Http response = slow.response();
                assertThat(response.status(), is(200));
                assertThat(response.body(), is("hello world"));
                assertThat(response.headers().get("connection"), is("close"));
            }
        }
    }

    @Test
    void aReloadReplacesEveryWorkerWithANewJvm() throws Exception {
        try (HelloCluster herd = HelloCluster.start(2, Map.of())) {
            ClusterInfo before = herd.awaitInfo(info -> info.online() == 2);
            OperationResult result = herd.cluster.reload();
            assertSucceeded(result);
            assertThat(result.workers(), hasSize(2));
            assertThat(result.workers().stream().map(OperationResult.Step::outcome).toList(), everyItem(is("replaced")));
            ClusterInfo after = herd.awaitInfo(info -> info.workers().size() == 2);
            Set<Long> oldPids = pids(before);
            assertThat(pids(after).stream().filter(oldPids::contains).toList(), is(empty()));
            assertThat(after.workers().stream().map(WorkerInfo::instance).collect(Collectors.toSet()), is(Set.of(0, 1)));
        }
    }

    @Test
    void scaleOutsideItsBoundsIsRefusedAndNothingChanges() throws Exception {
        try (HelloCluster herd = HelloCluster.start(1, Map.of("max.instances", "3"))) {
            herd.awaitInfo(info -> info.online() == 1);
            assertThat(assertThrows(IllegalArgumentException.class, () -> herd.cluster.scale(-1)).getMessage(),
                    containsString("from 0 to 3"));
            assertThat(assertThrows(IllegalArgumentException.class, () -> herd.cluster.scale(4)).getMessage(),
                    containsString("max.instances"));
            assertThat(assertThrows(IllegalArgumentException.class, () -> herd.cluster.scaleBy(3)).getMessage(),
                    containsString("outside 0 to 3"));
            assertThat(herd.cluster.info().instances(), is(1));
            assertSucceeded(herd.cluster.scaleBy(2));
            assertThat(herd.cluster.info().online(), is(3));
        }
    }

    @Test
    void aSecondOperationWhileOneRunsIsBusy() throws Exception {
        try (HelloCluster herd = HelloCluster.start(2, Map.of())) {
            herd.awaitInfo(info -> info.online() == 2);
            Thread reload = Thread.ofVirtual().start(herd.cluster::reload);
            while (herd.cluster.runningOperation() == null && reload.isAlive()) Thread.onSpinWait();
            IllegalStateException busy = assertThrows(IllegalStateException.class, herd.cluster::gracefulReload);
            assertThat(busy.getMessage(), containsString("busy: reload is in progress"));
            reload.join();
        }
    }

    @Test
    void aReplacementThatCrashesStopsTheReloadAndTheOldWorkersKeepServing() throws Exception {
        java.nio.file.Path poison = java.nio.file.Files.createTempDirectory("herd-bad-release-").resolve("crash");
        try (HelloCluster herd = HelloCluster.start(2, Map.of("env.HELLO_CRASH_IF_EXISTS", poison.toString()))) {
            ClusterInfo before = herd.awaitInfo(info -> info.online() == 2);
            java.nio.file.Files.writeString(poison, "from now on, new hello JVMs crash at start: a bad release");
            try (LoadClient load = new LoadClient(herd.port, 4, 5_000_000)) {
                OperationResult result = herd.cluster.reload();
                load.close();
                assertThat(result.succeeded(), is(false));
                assertThat(result.workers().getFirst().outcome(), containsString("failed"));
                assertThat(result.workers().get(1).outcome(), is("not attempted"));
                assertThat("failed requests", load.failures(), is(empty()));
            } finally {
                java.nio.file.Files.deleteIfExists(poison);
            }
            ClusterInfo after = herd.awaitInfo(info -> info.workers().size() == 2);
            assertThat(pids(after), is(pids(before)));
            assertThat(after.online(), is(2));
        }
    }

    private static Set<Long> pids(ClusterInfo info) {
        return info.workers().stream().map(WorkerInfo::pid).collect(Collectors.toSet());
    }

    private static void assertSucceeded(OperationResult result) {
        assertThat(result.toString(), result.succeeded(), is(true));
    }
}
