package io.herd.service;

import io.herd.HerdConfig;
import io.herd.mbeans.ServiceMXBean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.management.JMX;
import javax.management.ObjectName;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** herd:type=Service: apps added, stopped, started, deleted and saved while the service runs. */
@Timeout(180)
class ServiceMBeanTest {
    private static final Path HELLO_JAR = Path.of("..", "examples", "hello", "target", "hello.jar").toAbsolutePath().normalize();
    private HerdService service;
    private HerdConfig config;
    private ServiceMXBean herd;

    @BeforeEach
    void start() throws Exception {
        config = HelloCluster.config(2, Map.of());
        Files.writeString(config.source(), "# a service file with a comment to keep\nherd.stop.timeout = 10s\napp.hello.instances = 2\n");
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
        assertThat(herd.getVersion(), not(is("")));
        assertThat(herd.getApps(), is(List.of("hello")));
        assertThat(herd.getUptimeMillis() >= 0, is(true));
    }

    @Test
    void anAppAddedAtRunTimeServesAndCanBeStoppedStartedAndDeleted() throws Exception {
        int port = freePort();
        String started = herd.startJar(HELLO_JAR.toString(), "hello2", 1, port, "", "");
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
        herd.startJar(HELLO_JAR.toString(), "web", 1, port, "", "");
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
    void badRequestsAreRefusedAndChangeNothing() {
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.startJar("/no/such.jar", "x", 1, 1, "", "")).getMessage(),
                containsString("no such file"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.deleteApp("nosuch")).getMessage(), containsString("no app 'nosuch'"));
        assertThat(assertThrows(IllegalArgumentException.class, () -> herd.startJar(HELLO_JAR.toString(), "hello", 1, 1, "", "")).getMessage(),
                containsString("running already"));
        assertThat(herd.getApps(), is(List.of("hello")));
    }
}
