package io.herd.engine;

import io.herd.testapp.Reply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.oneOf;

/**
 * Warm spares ({@code spares}), with real worker JVMs: ready but out of rotation, they take a
 * crashed worker's place at once, a scale-up takes them first, a reload replaces them, and the
 * restart policy holds for them too. Which worker answers is what WhoAmI replies say.
 */
@Timeout(120)
class SparesTest {

    @Test
    void aSpareIsReadyButOutOfRotationWithAnIndexAfterTheApps() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of("spares", "1"))) {
            ClusterInfo ready = awaitReady(herd, 2, 1);
            WorkerInfo spare = the(ready, "spare");
            assertThat(ready.workers().stream().map(WorkerInfo::state).toList(), containsInAnyOrder("online", "online", "spare"));
            assertThat("the spare's instance index follows the app's", spare.instance(), is(2));

            List<Long> answeredBy = new ArrayList<>();
            for (int i = 0; i < 100; i++) answeredBy.add(Reply.ask(herd.port).pid());

            assertThat("the spare gets no connection", answeredBy, not(hasItem(spare.pid())));
            assertThat(Set.copyOf(answeredBy), is(Set.copyOf(pidsIn(ready, "online"))));
            assertThat(workerWithPid(herd.info(), spare.pid()).handedOff(), is(0L));
        }
    }

    @Test
    void aKilledWorkersPlaceIsTakenByTheReadySpareAtOnceAndNoRequestFails() throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of("spares", "1"))) {
            ServingAndSpare before = ServingAndSpare.awaited(herd);
            WorkerInfo serving = before.serving();
            WorkerInfo spare = before.spare();
            for (int i = 0; i < 20; i++) assertThat(Reply.ask(herd.port).pid(), is(serving.pid()));

            ProcessHandle.of(serving.pid()).orElseThrow().destroyForcibly(); // kill -9, and ask again at once
            List<Reply> after = new ArrayList<>();
            for (int i = 0; i < 50; i++) after.add(Reply.ask(herd.port)); // each one throws if it fails

            // No worker had to start to answer them: the spare, ready before the kill, did.
            assertThat(after.stream().map(Reply::pid).toList(), everyItem(is(spare.pid())));
            ClusterInfo settled = herd.awaitInfo("the spare online and a new spare ready", info -> info.online() == 1 && info.spares() == 1
                    && info.workers().stream().anyMatch(w -> w.state().equals("spare") && w.pid() != spare.pid()));
            WorkerInfo promoted = workerWithPid(settled, spare.pid());
            assertThat(promoted.state(), is("online"));
            assertThat("a spare keeps its index when it takes a place", promoted.instance(), is(spare.instance()));
            WorkerInfo newSpare = the(settled, "spare");
            assertThat("the new spare has the crashed worker's index", newSpare.instance(), is(serving.instance()));
            assertThat(newSpare.restarts(), is(1));
            assertThat(settled.workers().stream().map(WorkerInfo::pid).toList(), not(hasItem(serving.pid())));
        }
    }

    @Test
    void aScaleUpTakesTheSpareFirstAndANewSpareReplacesItAndAScaleDownKeepsTheSpares() throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of("spares", "1"))) {
            WorkerInfo spare = ServingAndSpare.awaited(herd).spare();

            OperationResult up = herd.cluster.scale(2);

            assertThat(up.toString(), up.succeeded(), is(true));
            assertThat(up.workers().getFirst().newPid(), is(spare.pid()));
            assertThat(up.workers().getFirst().outcome(), is("a spare took it"));
            assertThat("online as the scale returns", workerWithPid(herd.info(), spare.pid()).state(), is("online"));
            ClusterInfo scaled = awaitReady(herd, 2, 1);
            assertThat("the new spare takes the lowest free index", the(scaled, "spare").instance(), is(2));
            List<Long> answeredBy = new ArrayList<>();
            for (int i = 0; i < 20; i++) answeredBy.add(Reply.ask(herd.port).pid());
            assertThat("the spare taken is in rotation", answeredBy, hasItem(spare.pid()));

            long newSpare = the(scaled, "spare").pid();
            assertThat(herd.cluster.scale(1).succeeded(), is(true));
            ClusterInfo down = awaitReady(herd, 1, 1);
            assertThat("the spare stays as it was", the(down, "spare").pid(), is(newSpare));
        }
    }

    @Test
    void aReloadReplacesTheSparesToo() throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of("spares", "1"))) {
            ServingAndSpare before = ServingAndSpare.awaited(herd);
            long serving = before.serving().pid();
            WorkerInfo spare = before.spare();

            OperationResult reload = herd.cluster.reload();

            assertThat(reload.toString(), reload.succeeded(), is(true));
            assertThat(reload.workers().stream().map(OperationResult.Step::outcome).toList(), containsInAnyOrder("replaced", "spare replaced"));
            ClusterInfo after = awaitReady(herd, 1, 1);
            assertThat(the(after, "spare").pid(), is(not(oneOf(serving, spare.pid()))));
            assertThat(the(after, "spare").instance(), is(spare.instance()));
            assertThat(the(after, "online").pid(), is(not(oneOf(serving, spare.pid()))));
            assertThat("the old spare's JVM has exited", ProcessHandle.of(spare.pid()).filter(ProcessHandle::isAlive).isPresent(), is(false));
        }
    }

    @Test
    void aCrashLoopingSpareIsRestartedAsASpareUntilErroredAndNeverServes() throws Exception {
        List<WorkerEvent> events = new CopyOnWriteArrayList<>();
        Map<String, String> crashingSpare = Map.of("spares", "1", "env.WHOAMI_CRASH_INSTANCE", "1", "max.restarts", "2",
                "min.uptime", "5s", "restart.delay", "20ms");
        try (TestCluster herd = TestCluster.start(1, crashingSpare)) {
            herd.cluster.addListener(event -> {
                if (event.instance() == 1) events.add(event);
            });
            herd.awaitInfo("the spare errored and instance 0 online", info -> info.online() == 1 && info.workers().stream()
                    .anyMatch(w -> w.instance() == 1 && w.state().equals("errored")));

            assertThat(Reply.ask(herd.port).instance(), is(0));
            List<WorkerEvent> plans = events.stream().filter(e -> e.to() == WorkerState.WAITING_RESTART).toList();
            assertThat(plans, is(not(empty())));
            assertThat(plans.stream().map(WorkerEvent::reason).toList(), everyItem(endsWith(", as a spare")));
            assertThat("instance 1 never served", events.stream().filter(e -> e.to() == WorkerState.ONLINE).toList(), is(empty()));
        }
    }

    @Test
    void inProxyDispatchASpareHoldsItsPortOutOfRotationAndTakesACrashedWorkersPlace() throws Exception {
        try (TestCluster herd = ProxyTest.echo(1, Map.of("spares", "1"))) {
            ServingAndSpare before = ServingAndSpare.awaited(herd);
            for (int i = 0; i < 10; i++) assertThat(ProxyTest.exchange(herd.port, "before " + i), is("before " + i));
            assertThat("nothing relayed to the spare", workerWithPid(herd.info(), before.spare().pid()).handedOff(), is(0L));

            // Dead before the next exchange: a relay that connects to a port in the instant its process dies
            // is lost, spare or not (the master cannot tell); what is tested is who serves next.
            ProcessHandle killed = ProcessHandle.of(before.serving().pid()).orElseThrow();
            killed.destroyForcibly();
            killed.onExit().get(30, TimeUnit.SECONDS);
            for (int i = 0; i < 10; i++) assertThat(ProxyTest.exchange(herd.port, "after " + i), is("after " + i));

            WorkerInfo promoted = workerWithPid(herd.info(), before.spare().pid());
            assertThat(promoted.state(), is("online"));
            assertThat("the spare relayed every exchange after the kill", promoted.handedOff(), is(10L));
            awaitReady(herd, 1, 1);
        }
    }

    @Test
    void aStoppingAppStopsItsSpareAsGracefullyAsItsWorkers() throws Exception {
        TestCluster herd = TestCluster.start(1, Map.of("spares", "1"));
        try (herd) {
            awaitReady(herd, 1, 1);
        }
        ClusterInfo stopped = herd.info();
        assertThat(stopped.workers().stream().map(WorkerInfo::state).toList(), containsInAnyOrder("stopped", "stopped"));
        assertThat("asked to stop, not killed at the stop timeout", stopped.workers().stream().map(WorkerInfo::lastExitCode).toList(),
                everyItem(is(0)));
    }

    /** Waits until {@code online} workers are online and {@code spares} spares ready, and nothing else runs. */
    private static ClusterInfo awaitReady(TestCluster herd, int online, int spares) throws InterruptedException {
        return herd.awaitInfo(online + " online and " + spares + " spares, and no other worker", info -> info.online() == online
                && info.spares() == spares && info.workers().size() == online + spares);
    }

    /** The one worker online and the one spare of an app of one instance and one spare, once both are ready. */
    private record ServingAndSpare(WorkerInfo serving, WorkerInfo spare) {
        static ServingAndSpare awaited(TestCluster herd) throws InterruptedException {
            ClusterInfo ready = awaitReady(herd, 1, 1);
            return new ServingAndSpare(the(ready, "online"), the(ready, "spare"));
        }
    }

    /** The one worker in {@code state}. */
    private static WorkerInfo the(ClusterInfo info, String state) {
        List<WorkerInfo> those = info.workers().stream().filter(w -> w.state().equals(state)).toList();
        assertThat("one worker " + state + " in " + info, those.size(), is(1));
        return those.getFirst();
    }

    private static List<Long> pidsIn(ClusterInfo info, String state) {
        return info.workers().stream().filter(w -> w.state().equals(state)).map(WorkerInfo::pid).toList();
    }

    private static WorkerInfo workerWithPid(ClusterInfo info, long pid) {
        return info.workers().stream().filter(w -> w.pid() == pid).findFirst()
                .orElseThrow(() -> new AssertionError("no worker with pid " + pid + " in " + info));
    }
}
