package io.herd.engine;

import io.herd.testapp.IpcAttacker;
import io.herd.testapp.Reply;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.aMapWithSize;
import static org.hamcrest.Matchers.both;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.in;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.oneOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The master and real worker JVMs, over real loopback sockets. */
@Timeout(120)
class MasterTest {

    @Test
    void roundRobinSpreadsNewConnectionsEvenly() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of())) {
            herd.awaitOnline(2);
            List<Reply> replies = new ArrayList<>();
            for (int i = 0; i < 1000; i++) replies.add(Reply.ask(herd.port));

            Map<Long, Long> perWorker = replies.stream().collect(Collectors.groupingBy(Reply::pid, Collectors.counting()));
            assertThat(perWorker, is(aMapWithSize(2)));
            assertThat(List.copyOf(perWorker.values()), everyItem(equalTo(500L)));
            ClusterInfo info = herd.info();
            assertThat(info.accepted(), is(1000L));
            assertThat(info.dropped(), is(0L));
        }
    }

    @Test
    void requestsOnOneKeepAliveConnectionAllReachTheSameWorker() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of())) {
            herd.awaitOnline(2);
            try (Reply.Asker connection = new Reply.Asker(herd.port)) {
                Reply first = connection.ask();
                for (int i = 0; i < 50; i++) assertThat(connection.ask().pid(), is(first.pid()));
            }
        }
    }

    @Test
    void leastConnectionsSendsNewConnectionsAwayFromTheBusyWorker() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of("balance", "least-connections"))) {
            herd.awaitOnline(2);
            List<Reply.Asker> held = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) held.add(new Reply.Asker(herd.port));
                Map<Long, List<Reply.Asker>> byWorker = new java.util.HashMap<>();
                for (Reply.Asker asker : held) byWorker.computeIfAbsent(asker.ask().pid(), pid -> new ArrayList<>()).add(asker);
                assertThat("least-connections spreads an even start", byWorker, is(aMapWithSize(2)));
                long busy = byWorker.keySet().iterator().next();
                for (Map.Entry<Long, List<Reply.Asker>> entry : byWorker.entrySet()) {
                    if (entry.getKey() != busy) for (Reply.Asker asker : entry.getValue()) asker.close();
                }
                herd.awaitInfo(info -> info.workers().stream().filter(w -> w.pid() != busy).allMatch(w -> w.open() == 0));

                for (int i = 0; i < 4; i++) assertThat(Reply.ask(herd.port).pid(), is(not(busy)));
            } finally {
                for (Reply.Asker asker : held) asker.close();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"blocking", "selector", "virtual"})
    void theSdkChannelServesEveryWayAndSeesTheRealClient(String mode) throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of("env.WHOAMI_MODE", mode))) {
            herd.awaitOnline(1);
            for (int i = 0; i < 20; i++) {
                Reply reply = Reply.ask(herd.port);
                assertThat(reply.clientAddressSeen(), is(reply.clientAddress()));
            }
        }
    }

    @Test
    void aConnectionMadeBeforeAnyWorkerIsReadyIsServedOnceOneIs() throws Exception {
        try (TestCluster herd = TestCluster.start(1, Map.of("env.WHOAMI_READY_DELAY_MS", "1500"))) {
            assertThat("no worker is ready yet", herd.info().online(), is(0));
            Reply reply = Reply.ask(herd.port);
            assertThat(reply.instance(), is(0));
            assertThat(herd.info().dropped(), is(0L));
        }
    }

    @Test
    void aConnectionThatWaitsLongerThanTheQueueAllowsIsClosedAndCounted() throws Exception {
        Map<String, String> neverReady = Map.of("env.WHOAMI_READY_DELAY_MS", "60000", "queue.timeout", "300ms");
        try (TestCluster herd = TestCluster.start(1, neverReady)) {
            // Closed unserved: an end of stream, or a reset since the request was never read.
            assertThrows(IOException.class, () -> Reply.ask(herd.port));
            assertThat(herd.info().dropped(), is(1L));
        }
    }

    @Test
    void aConnectionBeyondAFullQueueIsClosedAndCounted() throws Exception {
        Map<String, String> neverReady = Map.of("env.WHOAMI_READY_DELAY_MS", "60000", "queue.size", "1", "queue.timeout", "1m");
        try (TestCluster herd = TestCluster.start(1, neverReady);
             Reply.Asker waiting = new Reply.Asker(herd.port)) {
            herd.awaitInfo(info -> info.waiting() == 1);
            assertThrows(IOException.class, () -> Reply.ask(herd.port));
            ClusterInfo info = herd.info();
            assertThat(info.waiting(), is(1L));
            assertThat(info.dropped(), is(1L));
        }
    }

    @Test
    void connectionsQueuedAtAWorkerThatStopsAcceptingGoToAnotherWorker() throws Exception {
        Map<String, String> firstStalls = Map.of("env.WHOAMI_STALL_INSTANCE", "0", "env.WHOAMI_STALL_MS", "1500");
        try (TestCluster herd = TestCluster.start(2, firstStalls)) {
            herd.awaitOnline(2);
            List<java.util.concurrent.Future<Reply>> asked = new ArrayList<>();
            try (var clients = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 20; i++) asked.add(clients.submit(() -> Reply.ask(herd.port)));
                for (var reply : asked) assertThat(reply.get().instance(), is(1));
            }
            herd.awaitInfo("the stalled worker out of rotation", i -> i.online() == 1);
            assertThat(Reply.ask(herd.port).instance(), is(1));
            assertThat(herd.info().dropped(), is(0L));
        }
    }

    @Test
    void aNewMasterRemovesTheIpcDirectoryOfADeadOneAndNothingElse() throws Exception {
        Path base = Files.createTempDirectory("herd-ipc-base-");
        long deadPid = deadPid();
        Path dead = privateDir(base.resolve("herd-" + deadPid + "-123"));
        try (var socket = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            socket.bind(java.net.UnixDomainSocketAddress.of(dead.resolve("worker-0.sock"))); // left behind, as by a SIGKILL
        }
        Path alive = privateDir(base.resolve("herd-" + ProcessHandle.current().pid() + "-456"));
        Path withAFile = privateDir(base.resolve("herd-" + deadPid + "-789"));
        Files.writeString(withAFile.resolve("notes.txt"), "not herd's");
        Path notOurShape = privateDir(base.resolve("herd-" + deadPid + "-notes"));
        Path target = privateDir(base.resolve("elsewhere"));
        Path link = Files.createSymbolicLink(base.resolve("herd-" + deadPid + "-999"), target);

        try (TestCluster herd = TestCluster.start(1, Map.of("herd.ipc.dir", base.toString()))) {
            assertThat("the dead master's directory", Files.exists(dead), is(false));
            for (Path kept : List.of(alive, withAFile, withAFile.resolve("notes.txt"), notOurShape, target, link)) {
                assertThat(kept + " is kept", Files.exists(kept, java.nio.file.LinkOption.NOFOLLOW_LINKS), is(true));
            }
        }
    }

    private static Path privateDir(Path dir) throws IOException {
        return Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    }

    /** The pid of a process that has exited. */
    private static long deadPid() throws Exception {
        Process process = new ProcessBuilder("true").start();
        process.waitFor();
        return process.pid();
    }

    @Test
    void aWorkerSendingGarbageOverIpcIsStoppedAndItsSiblingIsUnaffected() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of("main", io.herd.testapp.Garbler.class.getName(), "env.GARBLE_INSTANCE", "0"))) {
            ClusterInfo info = herd.awaitInfo("the garbler restarted twice, its sibling online",
                    seen -> seen.workers().stream().anyMatch(w -> w.instance() == 0 && w.restarts() >= 2)
                    && seen.workers().stream().anyMatch(w -> w.instance() == 1 && w.state().equals("online")));
            long sibling = info.workers().stream().filter(w -> w.instance() == 1).findFirst().orElseThrow().pid();
            for (int i = 0; i < 20; i++) assertThat(Reply.ask(herd.port).pid(), is(sibling));
            ClusterInfo after = herd.info();
            assertThat(after.workers().stream().filter(w -> w.instance() == 1).findFirst().orElseThrow().pid(), is(sibling));
            assertThat(after.workers().stream().filter(w -> w.instance() == 1).findFirst().orElseThrow().restarts(), is(0));
        }
    }

    @Test
    @Timeout(240)
    void aWorkerAttachingDescriptorsToWrongMessagesLeaksNoneIntoTheMasterAndIsRestartedEachTime(@TempDir Path launches) throws Exception {
        List<String> attacks = IpcAttacker.descriptorAttacks();
        attackInTurn(launches, attacks, before -> Await.until("the master's descriptors back to at most " + before + " after " + attacks.size() + " attacks",
                MasterTest::openDescriptors, count -> count <= before, Duration.ofSeconds(30)));
    }

    @Test
    @Timeout(240)
    void aWorkerThatLiesAboutTheConnectionsItClosedIsStoppedAndRestarted(@TempDir Path launches) throws Exception {
        attackInTurn(launches, IpcAttacker.countLies(), before -> { }); // each liar answers pings: only the lie can get it stopped
    }

    @Test
    @Timeout(240)
    void aWorkerThatAcknowledgesConnectionsItWasNeverGivenIsStoppedAndRestarted(@TempDir Path launches) throws Exception {
        attackInTurn(launches, IpcAttacker.idLies(), before -> { }); // each liar answers pings: only the lie can get it stopped
    }

    /** A check made once the attacks are over, while the cluster still runs. */
    private interface AfterAttacks {
        void check(long masterDescriptorsBefore) throws Exception;
    }

    /**
     * Two workers of {@link IpcAttacker}. Instance 0 serves, is killed once (so that whatever the
     * master opens once for a restart is open before counting), then makes {@code attacks}, one a
     * launch, then serves again. Asserts that it was stopped and restarted after each attack, and
     * that its sibling served every connection made meanwhile and kept its pid. Then runs
     * {@code afterAttacks} with the master's open descriptors (this JVM's) before the attacks.
     */
    private static void attackInTurn(Path launches, List<String> attacks, AfterAttacks afterAttacks) throws Exception {
        List<String> plan = new ArrayList<>(List.of("serve", "serve"));
        plan.addAll(attacks);
        Map<String, String> settings = Map.of("main", IpcAttacker.class.getName(), "env.HOSTILE_INSTANCE", "0",
                "env.HOSTILE_PLAN", String.join(",", plan), "env.HOSTILE_STATE", launches.toString(),
                "restart.delay", "50ms", "restart.delay.max", "100ms", "max.restarts", "1000", "ready.timeout", "10m");
        try (TestCluster herd = TestCluster.start(2, settings)) {
            ProcessHandle.of(instance(herd.awaitOnline(2), 0).pid()).orElseThrow().destroyForcibly();
            ClusterInfo warm = herd.awaitInfo("instance 0 restarted once, both online", info -> info.online() == 2 && instance(info, 0).restarts() == 1);
            for (int i = 0; i < 20; i++) Reply.ask(herd.port);
            long sibling = instance(warm, 1).pid();
            long before = openDescriptors();

            ProcessHandle.of(instance(warm, 0).pid()).orElseThrow().destroyForcibly(); // the attacks begin
            int restarts = plan.size(); // each launch after the first, the one after the plan (serving) included
            Predicate<ClusterInfo> attacksOver = info -> info.online() == 2 && instance(info, 0).restarts() == restarts;
            Set<Long> servedBy = new HashSet<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
            ClusterInfo seen = herd.info();
            while (!attacksOver.test(seen) && System.nanoTime() < deadline) {
                servedBy.add(Reply.ask(herd.port).pid()); // throws if a connection goes unanswered
                seen = herd.info();
            }

            assertThat("the attacker, restarted after each attack, then serving", instance(seen, 0).restarts(), is(restarts));
            assertThat(instance(seen, 0).state(), is("online"));
            long attackerNow = instance(seen, 0).pid();
            assertThat("who served while the attacks went on", servedBy, both(hasItem(sibling)).and(everyItem(is(oneOf(sibling, attackerNow)))));
            assertThat(instance(seen, 1).pid(), is(sibling));
            assertThat(instance(seen, 1).restarts(), is(0));
            herd.awaitInfo("no open connection once every client is gone", info -> info.workers().stream().allMatch(w -> w.open() == 0));
            afterAttacks.check(before);
        }
    }

    private static WorkerInfo instance(ClusterInfo info, int instance) {
        return info.workers().stream().filter(w -> w.instance() == instance).findFirst().orElseThrow();
    }

    @Test
    void aKilledWorkerIsReplacedWhileThePortKeepsAnswering() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of())) {
            ClusterInfo before = herd.awaitOnline(2);
            WorkerInfo victim = before.workers().getFirst();
            ProcessHandle.of(victim.pid()).orElseThrow().destroyForcibly();

            int answered = 0;
            ClusterInfo after = before;
            while (answered < 5000 && !replaced(after, victim)) {
                Reply.ask(herd.port); // throws if any connection goes unanswered
                answered++;
                after = herd.info();
            }
            assertThat("the killed worker was replaced", replaced(after, victim), is(true));
            WorkerInfo successor = after.workers().stream().filter(w -> w.instance() == victim.instance()).findFirst().orElseThrow();
            assertThat(successor.restarts(), is(1));
            assertThat("the port answers from a worker online now", Reply.ask(herd.port).pid(), is(in(after.workers().stream().map(WorkerInfo::pid).toList())));
        }
    }

    private static boolean replaced(ClusterInfo info, WorkerInfo victim) {
        return info.online() == 2 && info.workers().stream()
                .anyMatch(w -> w.instance() == victim.instance() && w.pid() != victim.pid() && w.state().equals("online"));
    }

    @Test
    void tenThousandHandoffsLeaveTheMastersDescriptorsWhereTheyWere() throws Exception {
        try (TestCluster herd = TestCluster.start(2, Map.of())) {
            herd.awaitOnline(2);
            for (int i = 0; i < 200; i++) Reply.ask(herd.port); // warm up: lazily opened JDK resources
            long before = openDescriptors();

            for (int i = 0; i < 10_000; i++) Reply.ask(herd.port);

            Await.until("the master's descriptors back to at most " + before, MasterTest::openDescriptors, count -> count <= before, Duration.ofSeconds(30));
            assertThat(herd.info().accepted(), is(10_200L));
        }
    }

    private static long openDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
