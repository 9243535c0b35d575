package io.herd.service;

import io.herd.HerdConfig;
import io.herd.HerdWorker;
import io.herd.engine.Cluster;
import io.herd.engine.ClusterInfo;
import io.herd.engine.Master;
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

    private static String location(Class<?> type) throws URISyntaxException {
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

    @Override
    public void close() throws Exception {
        master.stop();
        assertThat("worker JVMs left after stop", ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList(), empty());
    }
}
