package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * Socket activation: {@code herd run} adopts the listening sockets systemd passes (LISTEN_FDS),
 * with Debian's own {@code systemd-socket-activate}, and with {@code pass-sockets.py} (a test
 * resource) where that tool cannot: a socket held across a restart, descriptors that are no
 * listening socket, sockets meant for another process.
 */
@Timeout(180)
class SocketActivationTest {
    private static final Path SOCKET_ACTIVATE = Path.of("/usr/bin/systemd-socket-activate");
    private static final Path PASS_SOCKETS = Path.of("src", "test", "resources", "pass-sockets.py").toAbsolutePath();
    /** O_CLOEXEC in /proc/<pid>/fdinfo's octal flags. */
    private static final int O_CLOEXEC = 02000000;

    @TempDir
    Path home;

    @Test
    void theFirstConnectionStartsHerdOnTheSocketSystemdPassedAndIsServed() throws Exception {
        assertThat("systemd-socket-activate is needed: apt-get install systemd", Files.isExecutable(SOCKET_ACTIVATE), is(true));
        int port = freePort();
        List<String> activate = List.of(SOCKET_ACTIVATE.toString(), "--listen=127.0.0.1:" + port, "--fdname=hello");
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 2, ""), activate)) {
            herd.awaitOutput("Listening on 127.0.0.1:" + port, 1);

            Http response = Http.get(port, "/"); // starts herd, and waits in the socket's queue until a worker takes it

            assertThat(response.status(), is(200));
            assertThat(response.body(), is("hello world"));
            assertThat(herd.output(), containsString("adopted fd 3 (name \"hello\", 127.0.0.1:" + port + ") from systemd for app hello"));
            assertThat("the app's listen address (port 0) gave way to the socket named after it", herd.port("hello"), is(port));
            assertThat("no program herd starts inherits the socket", fdFlags(herd.process.pid(), 3) & O_CLOEXEC, is(O_CLOEXEC));

            herd.process.destroy(); // SIGTERM
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(0));
        }
    }

    /**
     * What {@code systemctl restart herd} relies on: systemd holds the socket while no herd runs
     * (here pass-sockets.py does, as systemd-socket-activate activates once only), a stopping herd
     * leaves it listening (close, never shutdown), and a connection made in between waits in the
     * kernel's queue and is served by the next herd.
     */
    @Test
    void aConnectionMadeWhileNoHerdRunsWaitsInTheQueueAndIsServedByTheNextHerd() throws Exception {
        int port = freePort();
        Path config = ServiceProcess.helloConfig(home, 1, "");
        Files.writeString(config, Files.readString(config).replace("127.0.0.1:0", "127.0.0.1:" + port)); // matched by address
        List<String> holder = List.of("python3", PASS_SOCKETS.toString(), "--runs", "2", "tcp:127.0.0.1:" + port + ":web", "--");
        try (ServiceProcess systemd = ServiceProcess.start(home, config, holder)) {
            systemd.awaitOutput("app hello: 1 workers on 127.0.0.1:" + port, 1);
            systemd.awaitOutput("-> online", 1);
            assertThat(Http.get(port, "/").status(), is(200));
            ProcessHandle first = onlyChild(systemd);
            first.destroy(); // SIGTERM: herd stops, systemd keeps the socket
            systemd.awaitOutput("exited 0", 1);
            assertThat("no herd runs now", systemd.process.children().filter(ProcessHandle::isAlive).toList(), hasSize(0));

            try (Http.Sent waiting = Http.send(port, "/")) { // accepted by the kernel: the socket still listens
                OutputStream stdin = systemd.process.getOutputStream();
                stdin.write("again\n".getBytes(StandardCharsets.US_ASCII));
                stdin.flush();

                Http response = waiting.response();

                assertThat(response.status(), is(200));
                assertThat(response.body(), is("hello world"));
            }
            ProcessHandle second = onlyChild(systemd);
            assertThat(second.pid(), is(not(first.pid())));
            assertThat(occurrences(systemd.output(), "adopted fd 3 (name \"web\", 127.0.0.1:" + port + ") from systemd for app hello"), is(2));
            second.destroy();
            systemd.awaitOutput("exited 0", 2);
            assertThat(systemd.waitFor(Duration.ofSeconds(30)), is(0));
        }
    }

    @Test
    void aPassedDescriptorThatIsNoListeningTcpSocketStopsTheStartNamingItAndWhatItIs() throws Exception {
        List<String> holder = List.of("python3", PASS_SOCKETS.toString(),
                "connected:hello", "file:nothing", "udp:127.0.0.1:0:datagrams", "--");
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 1, ""), holder)) {
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(1));
            assertThat(herd.output(), allOf(
                    containsString("fd 3 (name \"hello\") cannot be used: it is a TCP socket that does not listen"),
                    containsString("fd 4 (name \"nothing\") is not a socket: it is /dev/null"),
                    containsString("fd 5 (name \"datagrams\") cannot be used: it is a datagram (SOCK_DGRAM, UDP) socket")));
            assertThat("no worker was started", herd.workers(), hasSize(0));
        }
    }

    @Test
    void aPassedSocketThatBelongsToNoAppStopsTheStartNamingItsDescriptorAddressAndName() throws Exception {
        List<String> holder = List.of("python3", PASS_SOCKETS.toString(), "tcp:127.0.0.1:0:other", "--");
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 1, ""), holder)) {
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(1));
            int passed = passedPort(herd.output());
            assertThat(herd.output(), allOf(containsString("fd 3 (name \"other\", 127.0.0.1:" + passed + "), passed by systemd, belongs to no app"),
                    containsString("no app is named \"other\"")));
            assertThat("no worker was started", herd.workers(), hasSize(0));
        }
    }

    @Test
    void socketsPassedToAnotherProcessAreLeftAloneAndEveryAppBindsItsOwn() throws Exception {
        List<String> holder = List.of("python3", PASS_SOCKETS.toString(), "--wrong-pid", "tcp:127.0.0.1:0:hello", "--");
        try (ServiceProcess herd = ServiceProcess.start(home, ServiceProcess.helloConfig(home, 1, ""), holder)) {
            int bound = herd.port("hello");
            herd.awaitOutput("-> online", 1);

            assertThat(bound, is(not(passedPort(herd.output()))));
            assertThat(Http.get(bound, "/").body(), is("hello world"));
            assertThat(herd.output(), allOf(containsString("is not this process (" + herd.process.pid() + ")"), not(containsString("adopted fd"))));
            herd.process.destroy();
            assertThat(herd.waitFor(Duration.ofSeconds(60)), is(0));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The port of the socket pass-sockets.py made, from its "listening on" line. */
    private static int passedPort(String output) {
        Matcher listening = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) as").matcher(output);
        if (!listening.find()) throw new AssertionError("pass-sockets.py made no listening socket:\n" + output);
        return Integer.parseInt(listening.group(1));
    }

    /** The one herd pass-sockets.py runs now, once it runs. */
    private static ProcessHandle onlyChild(ServiceProcess holder) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            List<ProcessHandle> children = holder.process.children().filter(ProcessHandle::isAlive).toList();
            if (children.size() == 1) return children.getFirst();
            Thread.sleep(20);
        }
        throw new AssertionError("pass-sockets.py runs no single herd:\n" + holder.output());
    }

    /** The flags of descriptor {@code fd} of process {@code pid}, from /proc (octal there). */
    private static int fdFlags(long pid, int fd) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "fdinfo", Integer.toString(fd)))) {
            if (line.startsWith("flags:")) return Integer.parseInt(line.substring("flags:".length()).strip(), 8);
        }
        throw new AssertionError("no flags in /proc/" + pid + "/fdinfo/" + fd);
    }

    private static int occurrences(String text, String part) {
        List<Integer> at = new ArrayList<>();
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) at.add(i);
        return at.size();
    }
}
