package io.herd.service;

import io.herd.config.HerdConfig;
import io.herd.engine.Master;
import io.herd.engine.OperationResult;
import io.herd.engine.TestCluster;
import io.herd.examples.hello.Hello;
import io.herd.testing.Await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
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
        try (LoadClient load = new LoadClient(port, 8, 5_000_000)) {
            for (int i = 0; i < reloads; i++) assertSucceeded(cluster.reload());
            for (int i = 0; i < gracefulReloads; i++) assertSucceeded(cluster.gracefulReload());
            for (int instances : new int[] {4, 1, 2}) {
                assertSucceeded(cluster.scale(instances));
                assertThat(cluster.info().online(), is(instances));
            }
            long before = load.succeeded();
            Await.until("1000 more requests served after the last scale", load::succeeded, served -> served >= before + 1000, Duration.ofSeconds(60));
            load.close();
            assertThat("failed requests", load.failures(), is(empty()));
        }
        assertThat(cluster.info().dropped(), is(0L));
    }

    private static void assertSucceeded(OperationResult result) {
        assertThat(result.toString(), result.succeeded(), is(true));
    }
}
