package io.herd.engine;

import io.herd.config.HerdConfig;
import io.herd.HerdWorker;
import io.herd.testapp.WhoAmI;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;

/**
 * A master running one app of {@link WhoAmI} workers in this JVM, on a free loopback port.
 * Closing it stops the master and checks that no worker JVM is left.
 */
final class TestCluster implements AutoCloseable {
    final Master master;
    final Cluster cluster;
    final int port;

    private TestCluster(Master master) {
        this.master = master;
        this.cluster = master.cluster("whoami");
        this.port = master.addresses("whoami").getFirst().getPort();
    }

    /** Starts {@code instances} workers; {@code settings} adds or overrides {@code app.whoami.*} keys ({@code herd.*} keys are the master's). */
    static TestCluster start(int instances, Map<String, String> settings) throws Exception {
        Path home = Files.createTempDirectory("herd-test-");
        Map<String, String> values = new HashMap<>();
        values.put("herd.logs.dir", home.resolve("logs").toString());
        values.put("herd.stop.timeout", "5s");
        values.put("app.whoami.listen", "127.0.0.1:0");
        values.put("app.whoami.instances", Integer.toString(instances));
        values.put("app.whoami.classpath", location(WhoAmI.class) + java.io.File.pathSeparator + location(HerdWorker.class));
        values.put("app.whoami.main", WhoAmI.class.getName());
        values.put("app.whoami.jvm.options", "-XX:+UseSerialGC -Xmx32m -XX:TieredStopAtLevel=1");
        settings.forEach((key, value) -> values.put(key.startsWith("herd.") ? key : "app.whoami." + key, value));
        Master master = new Master(HerdConfig.parse(values, home.resolve("test.properties"), home));
        master.start();
        return new TestCluster(master);
    }

    static String location(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    ClusterInfo info() {
        return cluster.info();
    }

    /** Waits (bounded) until the cluster looks as {@code condition} wants; returns what it saw last. */
    ClusterInfo awaitInfo(Predicate<ClusterInfo> condition) throws InterruptedException {
        return await(this::info, condition, Duration.ofSeconds(30));
    }

    static <T> T await(java.util.function.Supplier<T> probe, Predicate<T> condition, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        T seen = probe.get();
        while (!condition.test(seen) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            seen = probe.get();
        }
        return seen;
    }

    ClusterInfo awaitOnline(int workers) throws InterruptedException {
        return awaitInfo(info -> info.online() == workers);
    }

    @Override
    public void close() throws Exception {
        master.stop();
        assertThat("worker JVMs left after stop", ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList(), empty());
    }
}
