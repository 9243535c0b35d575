package io.herd.service;

import io.herd.config.Dispatch;
import io.herd.config.HerdConfig;
import io.herd.engine.Master;
import io.herd.engine.OperationResult;
import io.herd.engine.TestCluster;
import io.herd.examples.hello.Hello;
import io.herd.testing.Await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;

/**
 * The shared {@link TestCluster} running the real hello example as app "hello", with the service's
 * Jolokia settings, and a load scenario the service and reliability suites both run.
 */
final class HelloCluster extends TestCluster {
    /** The shipped Jolokia policy, as the tests run from the service module's directory. */
    static final Path POLICY = Path.of("..", "conf", "jolokia-access.xml").toAbsolutePath().normalize();

    private HelloCluster(Master master) {
        super(master, "hello", Duration.ofSeconds(60));
    }

    public static HelloCluster start(int instances, Map<String, String> settings) throws Exception {
        return new HelloCluster(started(config(instances, settings)));
    }

    /** Like {@link #start(int, Map)}, with {@code app.hello.dispatch} set to {@code dispatch}. */
    public static HelloCluster start(int instances, Dispatch dispatch, Map<String, String> settings) throws Exception {
        Map<String, String> withDispatch = new HashMap<>(settings);
        withDispatch.put("dispatch", dispatch.name().toLowerCase(Locale.ROOT));
        return start(instances, withDispatch);
    }

    /** A service configuration with hello as app "hello", under a fresh home; {@code herd.*} keys are the service's. */
    static HerdConfig config(int instances, Map<String, String> settings) throws Exception {
        Map<String, String> values = new HashMap<>();
        values.put("herd.stop.timeout", "10s");
        values.put("herd.jolokia.port", "0");
        values.put("herd.jolokia.policy", POLICY.toString());
        values.putAll(settings);
        return config("hello", Hello.class, instances, values);
    }

    /**
     * Under a keep-alive load of 8 clients: {@code reloads} reloads, {@code gracefulReloads}
     * graceful ones, then scale to 4, 1 and 2 — and not one request may fail or be dropped.
     */
    void reloadAndScaleUnderLoadFailingNoRequest(int reloads, int gracefulReloads) throws Exception {
        reloadAndScaleUnderLoadFailingNoRequest(reloads, gracefulReloads, 0);
    }

    /**
     * The same with {@code newConnectionClients} more clients, each opening a new connection for
     * every request, so that workers come and go while connections are being accepted, not only
     * while established ones are served.
     */
    void reloadAndScaleUnderLoadFailingNoRequest(int reloads, int gracefulReloads, int newConnectionClients) throws Exception {
        try (LoadClient keepAlive = new LoadClient(port, 8, 5_000_000);
             LoadClient newConnections = LoadClient.connectionPerRequest(port, newConnectionClients, 5_000_000)) {
            for (int i = 0; i < reloads; i++) assertSucceeded(cluster.reload());
            for (int i = 0; i < gracefulReloads; i++) assertSucceeded(cluster.gracefulReload());
            for (int instances : new int[] {4, 1, 2}) {
                assertSucceeded(cluster.scale(instances));
                assertThat(cluster.info().online(), is(instances));
            }
            awaitMoreServed(keepAlive, 1000);
            if (newConnectionClients > 0) awaitMoreServed(newConnections, 100);
            keepAlive.close();
            newConnections.close();
            assertThat("failed keep-alive requests", keepAlive.failures(), is(empty()));
            assertThat("failed connection-per-request requests", newConnections.failures(), is(empty()));
        }
        assertThat(cluster.info().dropped(), is(0L));
    }

    private static void awaitMoreServed(LoadClient load, long more) throws InterruptedException {
        long before = load.succeeded();
        Await.until(more + " more requests served after the last scale", load::succeeded, served -> served >= before + more, Duration.ofSeconds(60));
    }

    private static void assertSucceeded(OperationResult result) {
        assertThat(result.toString(), result.succeeded(), is(true));
    }
}
