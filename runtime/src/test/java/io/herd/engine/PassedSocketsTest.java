package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.ipc.JdkSockets;
import io.herd.testapp.WhoAmI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.anEmptyMap;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Which app a socket systemd passed belongs to, and what the master does with it while apps come
 * and go. (Reading LISTEN_FDS and checking the descriptors: SocketActivationTest, with real
 * processes.)
 */
@Timeout(120)
class PassedSocketsTest {
    private static final InetSocketAddress ANY_V4 = new InetSocketAddress("0.0.0.0", 8080);
    private static final InetSocketAddress ANY_V6 = new InetSocketAddress("::", 8080);

    @Test
    void aDualStackSocketOnTheAnyAddressServesEitherFamilysAnyAddressAndAnIpv6OnlyOneOnlyIpv6s() {
        assertThat(passed("web", ANY_V6, false).listensOn(ANY_V4), is(true));
        assertThat(passed("web", ANY_V6, false).listensOn(ANY_V6), is(true));
        assertThat(passed("web", ANY_V6, true).listensOn(ANY_V4), is(false));
        assertThat(passed("web", ANY_V6, true).listensOn(ANY_V6), is(true));
        assertThat("0.0.0.0 takes no IPv6 client", passed("web", ANY_V4, false).listensOn(ANY_V6), is(false));
        assertThat("another port", passed("web", ANY_V6, false).listensOn(new InetSocketAddress("0.0.0.0", 8081)), is(false));
        assertThat("a wildcard is not loopback", passed("web", ANY_V6, false).listensOn(new InetSocketAddress("127.0.0.1", 8080)), is(false));
    }

    @Test
    void aSocketNamedAfterAnAppWithSeveralAddressesGoesToTheOneItListensOnAndOtherwiseToNone() throws Exception {
        AppConfig web = app("web", "127.0.0.1:8080, 127.0.0.1:8443");
        InetSocketAddress tls = new InetSocketAddress("127.0.0.1", 8443);
        PassedSockets.Passed onTls = passed("web", tls, false);
        PassedSockets.Passed elsewhere = passed("web", new InetSocketAddress("127.0.0.1", 9000), false);
        PassedSockets sockets = new PassedSockets(List.of(onTls, elsewhere));

        assertThat(sockets.claim(web, Set.of("web")), is(Map.of(tls, onTls)));
        ConfigException unclaimed = assertThrows(ConfigException.class, () -> sockets.checkEveryOneClaimed(List.of(web)));
        assertThat(unclaimed.getMessage(), containsString("fd 4 (name \"web\", 127.0.0.1:9000), passed by systemd, belongs to no app"));
    }

    @Test
    void aSocketNamedAfterAnotherAppIsThatAppsWhateverItsAddress() throws Exception {
        AppConfig web = app("web", "127.0.0.1:8080");
        PassedSockets sockets = new PassedSockets(List.of(passed("api", new InetSocketAddress("127.0.0.1", 8080), false)));

        assertThat(sockets.claim(web, Set.of("web", "api")), is(anEmptyMap()));
        assertThat("an app with one listen address takes the socket named after it, wherever it listens",
                sockets.claim(app("api", "127.0.0.1:7000"), Set.of("web", "api")).size(), is(1));
    }

    /**
     * An app removed at run time leaves its adopted socket open and listening (systemd listens
     * there too, so herd could never bind it again): a connection made meanwhile waits, and the
     * app added again adopts the same socket and serves it. Stopping the master closes it.
     */
    @Test
    void anAppRemovedAtRunTimeLeavesItsAdoptedSocketListeningForTheAppAddedAgain() throws Exception {
        HerdConfig config = TestCluster.config("whoami", WhoAmI.class, 1, Map.of());
        ServerSocketChannel systemd = ServerSocketChannel.open(StandardProtocolFamily.INET)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        InetSocketAddress address = (InetSocketAddress) systemd.getLocalAddress();
        Master master = new Master(config);
        master.usePassedSockets(new PassedSockets(List.of(
                new PassedSockets.Passed(JdkSockets.fdOf(systemd), "whoami", address, false, false, systemd))));
        try {
            master.start();
            assertThat(master.addresses("whoami"), is(List.of(address)));
            TestCluster.await(() -> master.cluster("whoami").info().online(), online -> online == 1, java.time.Duration.ofSeconds(30));
            assertThat(ask(address), containsString("/127.0.0.1:"));

            master.removeApp("whoami");

            assertThat("herd kept its descriptor", systemd.isOpen(), is(true));
            try (Socket waiting = connect(address)) { // accepted by the kernel: still listening
                master.addApp(config.apps().getFirst());
                assertThat(master.addresses("whoami"), is(List.of(address)));
                waiting.getOutputStream().write("who?\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(new BufferedReader(new InputStreamReader(waiting.getInputStream(), StandardCharsets.US_ASCII)).readLine(),
                        containsString("/127.0.0.1:"));
            }
        } finally {
            master.stop();
        }
        assertThat("stopping closed herd's descriptor", systemd.isOpen(), is(false));
        assertThat("worker JVMs left after stop", ProcessHandle.current().children().filter(ProcessHandle::isAlive).toList(), empty());
    }

    private static PassedSockets.Passed passed(String name, InetSocketAddress address, boolean v6only) {
        return new PassedSockets.Passed(4, name, address, address.getAddress() instanceof java.net.Inet6Address, v6only, null);
    }

    private static AppConfig app(String name, String listen) throws Exception {
        return TestCluster.config(name, WhoAmI.class, 1, Map.of("listen", listen)).apps().getFirst();
    }

    private static Socket connect(InetSocketAddress address) throws java.io.IOException {
        Socket socket = new Socket();
        socket.connect(address, 10_000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    /** One line to WhoAmI, its one line back. */
    private static String ask(InetSocketAddress address) throws java.io.IOException {
        try (Socket socket = connect(address)) {
            socket.getOutputStream().write("who?\n".getBytes(StandardCharsets.US_ASCII));
            return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
    }
}
