package io.herd.service;

import io.herd.config.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.TestCluster;
import io.herd.engine.WorkerEvent;
import io.herd.examples.hello.Hello;
import io.herd.testing.Await;
import io.herd.HerdWorker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.File;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * One app whose event thread is busy does not hold the agent check of another: HAProxy asking a
 * busy app (or anyone connecting to its agent port, again and again) must not leave every other
 * app's agent unanswered.
 */
@Timeout(120)
class AgentStallTest {
    /** Connections to the busy app's agent port: without answers off the accepting thread, each would hold it seconds. */
    private static final int TO_BUSY_APP = 10;
    private HerdService service;
    private final CountDownLatch busy = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final List<Socket> waiting = new ArrayList<>();
    private Thread scaling;

    @AfterEach
    void stop() throws Exception {
        release.countDown();
        for (Socket socket : waiting) socket.close();
        if (scaling != null) scaling.join(TimeUnit.SECONDS.toMillis(60));
        if (service != null) service.stop();
    }

    @Test
    void anAppWhoseEventThreadIsBusyLeavesTheOtherAppsAgentAnswering() throws Exception {
        service = new HerdService(twoApps());
        service.prepare();
        service.start();
        Cluster hello = service.master().cluster("hello");
        Await.until("hello's worker online", () -> hello.info().online(), online -> online == 1, Duration.ofSeconds(60));
        Cluster slow = service.master().cluster("slow");
        // The busy event thread, for real: a listener that does not return while the test holds it.
        Consumer<WorkerEvent> holding = event -> {
            busy.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        slow.addListener(holding);
        scaling = Thread.ofPlatform().name("scaling-slow").start(() -> slow.scaleBy(1));
        if (!busy.await(60, TimeUnit.SECONDS)) throw new AssertionError("slow's event thread never published the new worker's state");

        InetSocketAddress slowAgent = service.agents().address("slow");
        for (int i = 0; i < TO_BUSY_APP; i++) {
            Socket socket = new Socket();
            waiting.add(socket);
            socket.connect(new InetSocketAddress("127.0.0.1", slowAgent.getPort()), 5_000);
        }

        // Read with BalancerFacingTest's bound of 10 s: held behind ten of slow's 5 s waits, it would time out.
        assertThat(BalancerFacingTest.agentCheck(service.agents().address("hello").getPort(), null), is("up ready 100%\n"));
        slow.removeListener(holding);
    }

    /** Apps hello and slow, both the hello example with one worker and an agent port each. */
    private static HerdConfig twoApps() throws Exception {
        Path home = Files.createTempDirectory("herd-agent-stall-");
        Map<String, String> values = new HashMap<>();
        values.put("herd.logs.dir", home.resolve("logs").toString());
        values.put("herd.stop.timeout", "10s");
        values.put("herd.jolokia.port", "0");
        values.put("herd.jolokia.policy", HelloCluster.POLICY.toString());
        String classpath = TestCluster.location(Hello.class) + File.pathSeparator + TestCluster.location(HerdWorker.class);
        for (String app : List.of("hello", "slow")) {
            String prefix = "app." + app + ".";
            values.put(prefix + "listen", "127.0.0.1:0");
            values.put(prefix + "instances", "1");
            values.put(prefix + "classpath", classpath);
            values.put(prefix + "main", Hello.class.getName());
            values.put(prefix + "jvm.options", "-XX:+UseSerialGC -Xmx32m -XX:TieredStopAtLevel=1");
            values.put(prefix + "agent.listen", "127.0.0.1:0");
        }
        return HerdConfig.parse(values, home.resolve("test.properties"), home);
    }
}
