package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.mbeans.ServiceMXBean;
import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.management.JMX;
import javax.management.ObjectName;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * What a balancer in front of the host hears, from a real service with real workers: HAProxy's
 * agent check ({@code app.<name>.agent.listen}) in each state, and the drain delay
 * ({@code herd.drain.delay}) that keeps the app serving while it says {@code drain}.
 */
@Timeout(180)
class BalancerFacingTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    /**
     * What the tests run beside themselves (a stop, a stopApp), a thread each: not the common
     * pool, whose one thread on 2 cores a blocked stopApp would hold, queueing the stop behind it.
     */
    private final ExecutorService background = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().factory());
    private HerdService service;

    @AfterEach
    void stop() throws Exception {
        if (service != null) {
            service.skipDrain();
            service.stop();
        }
        background.shutdownNow();
    }

    private HerdService started(int instances, Map<String, String> settings) throws Exception {
        Map<String, String> all = new HashMap<>(settings);
        all.put("agent.listen", "127.0.0.1:0");
        all.put("herd.health.listen", "127.0.0.1:0");
        HerdConfig config = HelloCluster.config(instances, all);
        service = new HerdService(config);
        service.prepare();
        service.start();
        return service;
    }

    /** Stops the service on another thread, as a SIGTERM's handler would: done when the stop is. */
    private CompletableFuture<Void> stopInBackground() {
        return CompletableFuture.runAsync(() -> {
            try {
                service.stop();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, background);
    }

    /** The service's MBean, as JConsole or Jolokia reach it. */
    private static ServiceMXBean serviceMBean() throws Exception {
        return JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(), new ObjectName("herd:type=Service"), ServiceMXBean.class);
    }

    private int agentPort() {
        return service.agents().address("hello").getPort();
    }

    private int appPort() {
        return service.master().addresses("hello").getFirst().getPort();
    }

    /** What the health endpoint says of hello: its status and word. */
    private String health() throws IOException {
        Http answer = Http.get(service.healthAddress().getPort(), "/health/hello");
        return answer.status() + " " + answer.body().strip();
    }

    private Cluster hello() {
        return service.master().cluster("hello");
    }

    /** One agent check, as HAProxy makes it: connect, send {@code agent-send}'s text (if any), read to the end. */
    static String agentCheck(int port, String send) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(10_000);
            if (send != null) socket.getOutputStream().write(send.getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            try (InputStream in = socket.getInputStream()) {
                in.transferTo(all);
            }
            return all.toString(StandardCharsets.US_ASCII);
        }
    }

    private String awaitAgent(String line) throws InterruptedException {
        int port = agentPort();
        return Await.until("the agent check to answer '" + line.strip() + "'", () -> agentCheck(port, null), line::equals, LIMIT);
    }

    @Test
    void agentSaysUpWithTheShareOfInstancesOnlineAndLowerWhileOneIsMissing() throws Exception {
        // A restarted worker comes back only after restart.delay: the gap a crash leaves stays open for the test.
        started(3, Map.of("restart.delay", "1h", "restart.delay.max", "1h"));
        awaitAgent("up ready 100%\n");
        assertThat("agent-send's text is read and ignored", agentCheck(agentPort(), "hello/h1\n"), is("up ready 100%\n"));

        long pid = hello().info().workers().getFirst().pid();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        assertThat("2 of 3 online", awaitAgent("up ready 66%\n"), is("up ready 66%\n"));
        ProcessHandle.of(hello().info().workers().get(1).pid()).orElseThrow().destroyForcibly();
        assertThat("1 of 3 online", awaitAgent("up ready 33%\n"), is("up ready 33%\n"));
    }

    @Test
    void aBusyAgentPortStopsThePrepareNamingTheKeyAndLeavesNoPortBound() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            HerdConfig config = HelloCluster.config(1, Map.of("agent.listen", "127.0.0.1:" + taken.getLocalPort(), "herd.health.listen", "127.0.0.1:0"));
            HerdService refused = new HerdService(config);
            ConfigException error = assertThrows(ConfigException.class, refused::prepare);
            assertThat(error.getMessage(), allOf(startsWith(config.source() + ": app.hello.agent.listen: cannot listen on 127.0.0.1:" + taken.getLocalPort()),
                    containsString("for app hello's agent check")));
            assertThat("the health endpoint's port is closed again", refused.healthAddress(), is(nullValue()));
        }
    }

    /** An embedding program starts without prepare: a start that fails on the health port, after the agent's bound, leaves neither bound once stopped. */
    @Test
    void aStartFailingOnTheHealthPortLeavesTheAgentPortClosedOnceStopped() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            HerdConfig config = HelloCluster.config(1, Map.of("agent.listen", "127.0.0.1:0", "herd.health.listen", "127.0.0.1:" + taken.getLocalPort()));
            HerdService failed = new HerdService(config);
            ConfigException error = assertThrows(ConfigException.class, failed::start);
            assertThat(error.getMessage(), startsWith(config.source() + ": herd.health.listen: cannot listen on 127.0.0.1:" + taken.getLocalPort()));
            InetSocketAddress agent = failed.agents().address("hello");
            assertThat("the agent port was bound before the health endpoint failed", agent, is(notNullValue()));
            failed.stop(); // as Main and the daemon do after a failed start
            try (Socket probe = new Socket()) {
                assertThrows(ConnectException.class, () -> probe.connect(new InetSocketAddress("127.0.0.1", agent.getPort()), 5_000));
            }
        }
    }

    @Test
    void agentSaysDownWithNoWorkerOnline() throws Exception {
        started(1, Map.of());
        awaitAgent("up ready 100%\n");
        assertThat(hello().scale(0).succeeded(), is(true));
        assertThat(agentCheck(agentPort(), null), is("down\n"));
    }

    @Test
    void serviceStopDrainsFirstServingUnchangedThenStopsAsBefore() throws Exception {
        started(2, Map.of("herd.drain.delay", "1h")); // ended below, once the drain has been seen serving
        awaitAgent("up ready 100%\n");
        int appPort = appPort(), agentPort = agentPort();

        CompletableFuture<Void> stopping = stopInBackground();
        awaitAgent("drain\n");
        for (int i = 0; i < 20; i++) {
            assertThat("the app serves real requests while balancers hear drain", Http.get(appPort, "/").status(), is(200));
        }
        assertThat("the master runs on, unchanged", service.master().state(), is(io.herd.lifecycle.LifeCycle.State.STARTED));
        assertThat("both workers in rotation", hello().info().online(), is(2));
        assertThat("still draining after the requests", agentCheck(agentPort, null), is("drain\n"));
        assertThat("the health endpoint says so too", health(), is("503 drain"));
        assertThat("the stop waits for the drain delay", stopping.isDone(), is(false));

        service.skipDrain(); // the rest of the delay, as a second SIGTERM would
        stopping.get(60, TimeUnit.SECONDS);
        assertThat(service.state(), is(io.herd.lifecycle.LifeCycle.State.STOPPED));
        assertThrows(ConnectException.class, () -> Http.get(appPort, "/"), "the app's port is closed once stopped");
        assertThrows(ConnectException.class, () -> agentCheck(agentPort, null), "the agent's port is closed once stopped");
        assertThat("no worker left", hello().info().online(), is(0));
    }

    /** A short delay runs out by itself: the service stops without being told twice. */
    @Test
    void aDrainDelayRunsOutAndTheServiceStops() throws Exception {
        started(1, Map.of("herd.drain.delay", "2s"));
        awaitAgent("up ready 100%\n");
        CompletableFuture<Void> stopping = stopInBackground();
        awaitAgent("drain\n");
        stopping.get(60, TimeUnit.SECONDS);
        assertThat(service.state(), is(io.herd.lifecycle.LifeCycle.State.STOPPED));
    }

    @Test
    void aSecondStopSignalCutsTheDrainDelayShort() throws Exception {
        started(1, Map.of("herd.drain.delay", "1h"));
        awaitAgent("up ready 100%\n");
        CompletableFuture<Void> stopping = stopInBackground();
        awaitAgent("drain\n");
        service.skipDrain(); // what Main does on a second SIGTERM
        stopping.get(60, TimeUnit.SECONDS);
        assertThat(service.state(), is(io.herd.lifecycle.LifeCycle.State.STOPPED));
    }

    /** The service's stop takes over an app's drain: the app's delay ends, and the app stops with the service. */
    @Test
    void aServiceStopEndsAnAppsDrainDelayAndTheAppStopsWithTheService() throws Exception {
        started(1, Map.of("herd.drain.delay", "1h"));
        awaitAgent("up ready 100%\n");
        ServiceMXBean herd = serviceMBean();
        CompletableFuture<String> stoppingApp = CompletableFuture.supplyAsync(() -> herd.stopApp("hello"), background);
        awaitAgent("drain\n");

        CompletableFuture<Void> stoppingService = stopInBackground();
        ExecutionException appStop = assertThrows(ExecutionException.class, () -> stoppingApp.get(60, TimeUnit.SECONDS),
                "stopApp's hour of delay ends as the service begins to stop");
        assertThat(appStop.getCause().getMessage(), containsString("the service is stopping: app 'hello' stops with it"));
        assertThat("the service drains on, the app still in it", hello().info().online(), is(1));
        assertThat(agentCheck(agentPort(), null), is("drain\n"));

        service.skipDrain();
        stoppingService.get(60, TimeUnit.SECONDS);
        assertThat(service.state(), is(io.herd.lifecycle.LifeCycle.State.STOPPED));
    }

    @Test
    void deletingARunningAppDrainsItFirstServingUnchangedThenClosesItsAgentPort() throws Exception {
        started(1, Map.of("herd.drain.delay", "5s"));
        awaitAgent("up ready 100%\n");
        ServiceMXBean herd = serviceMBean();
        int appPort = appPort();

        CompletableFuture<String> deleting = CompletableFuture.supplyAsync(() -> herd.deleteApp("hello"), background);
        awaitAgent("drain\n");
        assertThat("the app serves real requests while balancers hear drain", Http.get(appPort, "/").status(), is(200));
        assertThat(health(), is("503 drain"));
        assertThat(deleting.get(60, TimeUnit.SECONDS), is("deleted hello"));
        assertThat(herd.getStoppedApps(), is(List.of()));
        assertThat(service.agents().address("hello"), is(nullValue()));
        assertThrows(ConnectException.class, () -> Http.get(appPort, "/"), "the deleted app's port is closed");
    }

    @Test
    void stopAppDrainsThatAppThenSaysMaintUntilStartedAgainAndADeletedAppsAgentPortCloses() throws Exception {
        started(1, Map.of("herd.drain.delay", "3s"));
        awaitAgent("up ready 100%\n");
        ServiceMXBean herd = serviceMBean();
        int appPort = appPort(), agentPort = agentPort();

        CompletableFuture<String> stopping = CompletableFuture.supplyAsync(() -> herd.stopApp("hello"), background);
        awaitAgent("drain\n");
        assertThat("the app serves real requests while balancers hear drain", Http.get(appPort, "/").status(), is(200));
        assertThat(health(), is("503 drain"));
        assertThat(stopping.get(60, TimeUnit.SECONDS), is("stopped hello"));
        assertThat("a stopped app's agent answers", agentCheck(agentPort, null), is("maint\n"));
        assertThat(health(), is("503 maint"));
        assertThrows(ConnectException.class, () -> Http.get(appPort, "/"), "the stopped app's port is closed");

        herd.startApp("hello");
        awaitAgent("up ready 100%\n");
        assertThat(health(), is("200 up"));
        assertThat("the same agent port all along", agentPort(), is(agentPort));

        herd.stopApp("hello");
        herd.deleteApp("hello");
        assertThat(service.agents().address("hello"), is(nullValue()));
        Await.until("the deleted app's agent port to close", () -> {
            try {
                agentCheck(agentPort, null);
                return false;
            } catch (ConnectException refused) {
                return true;
            } catch (SocketException reset) {
                return false; // connected into the backlog as the port closed: the kernel resets those; ask again
            }
        }, LIMIT);
        assertThat(herd.getApps(), is(List.of()));
        assertThat("a deleted app is unknown", health(), is("404 unknown"));
    }
}
