package io.herd.service;

import io.herd.config.HerdConfig;
import io.herd.mbeans.ServiceMXBean;
import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.management.JMX;
import javax.management.ObjectName;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.both;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** herd:type=Service: apps added, stopped, started, deleted and saved while the service runs. */
@Timeout(180)
class ServiceMBeanTest {
    private static final Path HELLO_JAR = Path.of("..", "examples", "hello", "target", "hello.jar").toAbsolutePath().normalize();
    private HerdService service;
    private HerdConfig config;
    private long startingNanos;
    private ServiceMXBean herd;

    @BeforeEach
    void start() throws Exception {
        config = HelloCluster.config(2, Map.of());
        Files.writeString(config.source(), "# a service file with a comment to keep\nherd.stop.timeout = 10s\napp.hello.instances = 2\n");
        startingNanos = System.nanoTime(); // before the service exists: its bean's clock starts as it is made
        service = new HerdService(config);
        service.start();
        herd = JMX.newMXBeanProxy(ManagementFactory.getPlatformMBeanServer(), new ObjectName("herd:type=Service"), ServiceMXBean.class);
    }

    @AfterEach
    void stop() throws Exception {
        service.stop();
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    private static boolean answers(int port) {
        try {
            return Http.get(port, "/").status() == 200;
        } catch (IOException refused) {
            return false;
        }
    }

    @Test
    void tellsItsVersionUptimeAndApps() {
        assertThat("run from classes, not from a jar with a manifest", herd.getVersion(), is("development"));
        assertThat(herd.getApps(), is(List.of("hello")));
        // The uptime first: read after it, the time since starting can only be longer, however slow the machine.
        long uptime = herd.getUptimeMillis();
        long sinceStarting = (System.nanoTime() - startingNanos) / 1_000_000;
        assertThat("uptime, in milliseconds since the service started", uptime, is(both(greaterThan(0L)).and(lessThanOrEqualTo(sinceStarting))));
    }

    @Test
    void anAppAddedAtRunTimeServesAndCanBeStoppedStartedAndDeleted() throws Exception {
        int port = freePort();
        String started = herd.startJar(HELLO_JAR.toString(), "hello2", 1, port, "", List.of());
        assertThat(started, containsString("started hello2"));
        assertThat(herd.getApps(), is(List.of("hello", "hello2")));
        assertThat(answers(port), is(true));

        herd.stopApp("hello2");
        assertThat(answers(port), is(false));
        assertThat(herd.getStoppedApps(), is(List.of("hello2")));
        herd.startApp("hello2");
        assertThat(answers(port), is(true));

        herd.deleteApp("hello2");
        assertThat(herd.getApps(), is(List.of("hello")));
        assertThat(answers(port), is(false));
    }

    @Test
    void saveWritesTheRunningAppsBackToTheConfiguration() throws Exception {
        int port = freePort();
        herd.startJar(HELLO_JAR.toString(), "web", 1, port, "", List.of());
        assertThat(herd.save(), is(config.source().toString()));

        String saved = Files.readString(config.source());
        assertThat(saved, containsString("# a service file with a comment to keep"));
        assertThat(saved, containsString("app.web.listen = 127.0.0.1:" + port));
        assertThat(saved, containsString("app.hello.instances = 2"));
        HerdConfig reread = HerdConfig.load(config.source(), config.home());
        assertThat(reread.apps().stream().map(app -> app.name()).toList(), is(List.of("hello", "web")));
        assertThat(Files.exists(config.source().resolveSibling(config.source().getFileName() + ".bak")), is(true));
    }

    @Test
    void inputThatCouldBecomeConfigurationIsCheckedAndNothingIsInjected() throws Exception {
        int port = freePort();
        String jar = HELLO_JAR.toString();
        String[][] refused = {
                // a main class carrying a line for save to write as a key of its own
                {jar, "web", "io.herd.examples.hello.Hello\nherd.jolokia.password = taken-over", "control character"},
                {jar, "web", "not a class!", "not a Java class name"},
                {jar, "Web", "", "lower-case letters"},
                {jar, "../etc", "", "lower-case letters"},
                {jar, "web app", "", "lower-case letters"},
                {jar, "-web", "", "lower-case letters"},
                {jar, "web\tx", "", "web\\u0009x"},
                {HELLO_JAR.getParent().toString(), "web", "", "no such file"},
                {jar + "\n", "web", "", "control character"}};
        for (String[] request : refused) {
            IllegalArgumentException refusal = assertThrows(IllegalArgumentException.class,
                    () -> herd.startJar(request[0], request[1], 1, port, request[2], List.of()), String.join(" | ", request));
            assertThat(refusal.getMessage(), containsString(request[3]));
        }
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.startJar(jar, "web", 1, port, "", List.of("8080", "a\nb")))
                .getMessage(), containsString("control character"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.startJar(jar, "web", 1, 0, "", List.of())).getMessage(),
                containsString("port must be from 1 to 65535"));
        assertThat(herd.getApps(), is(List.of("hello")));
        herd.save();
        assertThat(Files.readString(config.source()), not(containsString("taken-over")));
    }

    @Test
    void argumentsAreWordsAndKeepTheirSpacesAcrossASave(@TempDir Path jars) throws Exception {
        Path jar = Files.copy(HELLO_JAR, jars.resolve("My_Tool-1.0.jar"));
        List<String> args = List.of("8080", "two words", "back\\slash \"quoted\"", "ünïcödé", "");
        herd.startJar(jar.toString(), "", 1, freePort(), "", args);
        assertThat("named after its jar", herd.getApps(), is(List.of("hello", "my-tool-1-0")));
        var cluster = service.master().cluster("my-tool-1-0");
        long pid = Await.until("my-tool-1-0's worker online", cluster::info, info -> info.online() >= 1, Duration.ofSeconds(60))
                .workers().getFirst().pid();
        List<String> command = List.of(Files.readString(Path.of("/proc/" + pid + "/cmdline")).split("\0", -1));
        command = command.subList(0, command.size() - 1); // each argument ends with a NUL
        assertThat("each argument reaches the worker's JVM whole", command.subList(command.size() - args.size(), command.size()), is(args));

        herd.save();
        assertThat(HerdConfig.load(config.source(), config.home()).app("my-tool-1-0").args(), is(args));
    }

    @Test
    void afterAScaleSaveChangesOneLineAndKeepsTheFilesMode() throws Exception {
        herd.save(); // the file now says what runs
        Files.setPosixFilePermissions(config.source(), PosixFilePermissions.fromString("rw-------"));
        List<String> before = Files.readAllLines(config.source());
        assertThat(service.master().cluster("hello").scale(3).succeeded(), is(true));
        herd.save();
        List<String> after = Files.readAllLines(config.source());
        List<String> changed = new java.util.ArrayList<>();
        for (int i = 0; i < Math.max(before.size(), after.size()); i++) {
            String was = i < before.size() ? before.get(i) : null, is = i < after.size() ? after.get(i) : null;
            if (!java.util.Objects.equals(was, is)) changed.add(was + " -> " + is);
        }
        assertThat(changed, is(List.of("app.hello.instances = 2 -> app.hello.instances = 3")));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config.source())), is("rw-------"));
        Path backup = config.source().resolveSibling(config.source().getFileName() + ".bak");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(backup)), is("rw-------"));
        assertThat(Files.readAllLines(backup), is(before));
    }

    @Test
    void badRequestsAreRefusedAndChangeNothing() {
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.startJar("/no/such.jar", "x", 1, 1, "", List.of())).getMessage(),
                containsString("no such file"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.deleteApp("nosuch")).getMessage(), containsString("no app 'nosuch'"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.startJar(HELLO_JAR.toString(), "hello", 1, 1, "", List.of())).getMessage(),
                containsString("running already"));
        assertThat(herd.getApps(), is(List.of("hello")));
    }
}
