package io.herd.engine;

import io.herd.HerdWorker;
import io.herd.config.HerdConfig;
import io.herd.testapp.WhoAmI;
import io.herd.testing.Await;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;

/**
 * A master running one app in this JVM, on a free loopback port: the fixture every module's tests
 * share (runtime's test-jar). {@link #start(int, Map)} runs {@link WhoAmI} workers; other modules
 * run their own app through {@link #config} and a subclass. Every wait fails loudly on timeout
 * (see {@link Await}). Closing it stops the master and checks that no worker JVM is left.
 */
public class TestCluster implements AutoCloseable {
    public final Master master;
    public final Cluster cluster;
    public final int port;
    private final Duration awaitLimit;

    protected TestCluster(Master master, String app, Duration awaitLimit) {
        this.master = master;
        this.cluster = master.cluster(app);
        this.port = master.addresses(app).getFirst().getPort();
        this.awaitLimit = awaitLimit;
    }

    /** Starts {@code instances} WhoAmI workers; {@code settings} adds or overrides {@code app.whoami.*} keys ({@code herd.*} keys are the master's). */
    public static TestCluster start(int instances, Map<String, String> settings) throws Exception {
        return new TestCluster(started(config("whoami", WhoAmI.class, instances, settings)), "whoami", Duration.ofSeconds(30));
    }

    /**
     * A configuration with {@code main} (from its jar or class directory, with herd's worker SDK)
     * as app {@code app}, {@code instances} workers on a free loopback port, under a fresh home.
     * {@code settings} adds or overrides keys: {@code herd.*} keys as they are, others as {@code app.<app>.*}.
     */
    public static HerdConfig config(String app, Class<?> main, int instances, Map<String, String> settings) throws Exception {
        Path home = Files.createTempDirectory("herd-test-");
        Map<String, String> values = new HashMap<>();
        values.put("herd.logs.dir", home.resolve("logs").toString());
        values.put("herd.stop.timeout", "5s");
        String prefix = "app." + app + ".";
        values.put(prefix + "listen", "127.0.0.1:0");
        values.put(prefix + "instances", Integer.toString(instances));
        values.put(prefix + "classpath", location(main) + File.pathSeparator + location(HerdWorker.class));
        values.put(prefix + "main", main.getName());
        values.put(prefix + "jvm.options", "-XX:+UseSerialGC -Xmx32m -XX:TieredStopAtLevel=1");
        settings.forEach((key, value) -> values.put(key.startsWith("herd.") ? key : prefix + key, value));
        return HerdConfig.parse(values, home.resolve("test.properties"), home);
    }

    /** A master for {@code config}, started. */
    protected static Master started(HerdConfig config) throws Exception {
        Master master = new Master(config);
        master.start();
        return master;
    }

    /** The jar or class directory {@code type} was loaded from. */
    public static String location(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    public ClusterInfo info() {
        return cluster.info();
    }

    /** Waits (bounded) until the cluster looks as {@code condition} wants, and returns what it saw; throws on timeout. */
    public ClusterInfo awaitInfo(Predicate<ClusterInfo> condition) throws InterruptedException {
        return awaitInfo("the cluster to reach the awaited state", condition);
    }

    /** As {@link #awaitInfo(Predicate)}, with what is awaited said in the failure message. */
    public ClusterInfo awaitInfo(String awaited, Predicate<ClusterInfo> condition) throws InterruptedException {
        return Await.until(awaited, this::info, condition, awaitLimit);
    }

    /** Waits (bounded) until exactly {@code workers} workers are online; throws on timeout. */
    public ClusterInfo awaitOnline(int workers) throws InterruptedException {
        return awaitInfo(workers + " workers online", info -> info.online() == workers);
    }

    /**
     * Holds the master's accept thread until the returned hold is closed (for at most a minute):
     * connections made meanwhile wait in the listen backlog, and the thread accepts them all at
     * its next wake-up, as it would a burst.
     */
    public AutoCloseable holdAccepting() throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch released = new CountDownLatch(1);
        master.acceptor().onAcceptThread(() -> {
            held.countDown();
            try {
                if (!released.await(60, TimeUnit.SECONDS)) System.err.println("TestCluster: the accept thread was held for 60 s; let go");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        if (!held.await(30, TimeUnit.SECONDS)) throw new AssertionError("the accept thread did not come round to be held within 30 s");
        return released::countDown;
    }

    /**
     * Waits until {@code probe}'s value satisfies {@code condition}; throws an AssertionError on
     * timeout. {@link Await#until} does the same and says in its message what was awaited.
     */
    public static <T> T await(Supplier<T> probe, Predicate<T> condition, Duration limit) throws InterruptedException {
        return Await.until("the awaited condition", probe::get, condition, limit);
    }

    @Override
    public void close() throws Exception {
        master.stop();
        assertThat("worker JVMs left after stop", ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList(), empty());
    }
}
