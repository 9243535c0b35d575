package io.herd.service;

import io.herd.config.HerdConfig;
import io.herd.HerdWorker;
import io.herd.engine.Cluster;
import io.herd.engine.ClusterInfo;
import io.herd.engine.Master;
import io.herd.engine.OperationResult;
import io.herd.examples.hello.Hello;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;

/** A master in this JVM clustering the real hello example on a free loopback port. */
final class HelloCluster implements AutoCloseable {
    /** The shipped Jolokia policy, as the tests run from the service module's directory. */
    static final Path POLICY = Path.of("..", "conf", "jolokia-access.xml").toAbsolutePath().normalize();

    final Master master;
    final Cluster cluster;
    final int port;

    private HelloCluster(Master master) {
        this.master = master;
        this.cluster = master.cluster("hello");
        this.port = master.addresses("hello").getFirst().getPort();
    }

    static HelloCluster start(int instances, Map<String, String> settings) throws Exception {
        Master master = new Master(config(instances, settings));
        master.start();
        return new HelloCluster(master);
    }

    /** A service configuration with hello as app "hello", under a fresh home; {@code herd.*} keys are the service's. */
    static HerdConfig config(int instances, Map<String, String> settings) throws Exception {
        Path home = Files.createTempDirectory("herd-hello-");
        Map<String, String> values = new HashMap<>();
        values.put("herd.logs.dir", home.resolve("logs").toString());
        values.put("herd.stop.timeout", "10s");
        values.put("herd.jolokia.port", "0");
        values.put("herd.jolokia.policy", POLICY.toString());
        values.put("app.hello.listen", "127.0.0.1:0");
        values.put("app.hello.instances", Integer.toString(instances));
        values.put("app.hello.classpath", location(Hello.class) + java.io.File.pathSeparator + location(HerdWorker.class));
        values.put("app.hello.main", Hello.class.getName());
        values.put("app.hello.jvm.options", "-XX:+UseSerialGC -Xmx32m -XX:TieredStopAtLevel=1");
        settings.forEach((key, value) -> values.put(key.startsWith("herd.") ? key : "app.hello." + key, value));
        return HerdConfig.parse(values, home.resolve("test.properties"), home);
    }

    static String location(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    ClusterInfo awaitInfo(Predicate<ClusterInfo> condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        ClusterInfo info = cluster.info();
        while (!condition.test(info) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            info = cluster.info();
        }
        return info;
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
            while (load.succeeded() < before + 1000) Thread.sleep(10);
            load.close();
            assertThat("failed requests", load.failures(), is(empty()));
            assertThat(load.succeeded(), greaterThan(1000L));
        }
        assertThat(cluster.info().dropped(), is(0L));
    }

    private static void assertSucceeded(OperationResult result) {
        assertThat(result.toString(), result.succeeded(), is(true));
    }

    @Override
    public void close() throws Exception {
        master.stop();
        assertThat("worker JVMs left after stop", ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList(), empty());
    }
}
