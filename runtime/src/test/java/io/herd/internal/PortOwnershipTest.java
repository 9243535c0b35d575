package io.herd.internal;

import io.herd.testapp.Echo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Proves, on this machine's kernel, that {@link PortOwnership} tells who holds a listening port:
 * this JVM, a child JVM, nobody — and reads the /proc/net tables' lines, well formed or not.
 */
@Timeout(60)
class PortOwnershipTest {
    private static final long SELF = ProcessHandle.current().pid();

    @Test
    void aListenerInThisJvmIsThisProcesssOwnInEitherTable() throws Exception {
        // An IPv4 socket is in /proc/net/tcp; a dual-stack one bound to 127.0.0.1 is ::ffff:127.0.0.1 in tcp6.
        for (ProtocolFamily family : List.of(StandardProtocolFamily.INET, StandardProtocolFamily.INET6)) {
            try (ServerSocketChannel server = ServerSocketChannel.open(family).bind(new InetSocketAddress("127.0.0.1", 0))) {
                InetSocketAddress address = (InetSocketAddress) server.getLocalAddress();

                PortOwnership owners = PortOwnership.of(address, SELF);

                assertThat(family + ": " + owners, owners.verdict(), is(PortOwnership.Verdict.OWNED));
                assertThat(owners.listeners(), hasSize(1));
                PortOwnership.Listener listener = owners.listeners().getFirst();
                assertThat(listener.local(), is(address));
                assertThat(listener.holderPid(), is(SELF));
                assertThat(listener.uid(), is(myUid()));
                assertThat(owners.foreign(), is(empty()));
            }
        }
    }

    @Test
    void aListenerInAnotherProcessIsThatProcesssAndNotAnyoneElses() throws Exception {
        int port = freePort();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        Process echo = javaChild(Echo.class, Integer.toString(port));
        Process bystander = new ProcessBuilder("sleep", "60").start();
        try {
            awaitListening(address, echo);

            PortOwnership seenForBystander = PortOwnership.of(address, bystander.pid());
            assertThat(seenForBystander.toString(), seenForBystander.verdict(), is(PortOwnership.Verdict.FOREIGN));
            PortOwnership.Listener foreign = seenForBystander.foreign().getFirst();
            assertThat(foreign.holderPid(), is(echo.pid()));
            assertThat(foreign.holder(), is("java"));
            assertThat(foreign.uid(), is(myUid()));
            assertThat(seenForBystander.describe(), is("port " + port + " is held by another process: 127.0.0.1:" + port
                    + " held by pid " + echo.pid() + " (java), uid " + myUid()));

            assertThat(PortOwnership.of(address, echo.pid()).verdict(), is(PortOwnership.Verdict.OWNED));
            // A descendant's listener counts as its ancestor's: an app may run its server in a child.
            PortOwnership seenForParent = PortOwnership.of(address, SELF);
            assertThat(seenForParent.verdict(), is(PortOwnership.Verdict.OWNED));
            assertThat(seenForParent.stillHeld(SELF), is(true));
        } finally {
            stop(echo);
            stop(bystander);
        }
    }

    @Test
    void aListenerFoundOwnedIsStillHeldUntilItIsClosedEvenWhenAnotherSocketListensOnThePortNext() throws Exception {
        ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        InetSocketAddress address = (InetSocketAddress) server.getLocalAddress();
        PortOwnership owned = PortOwnership.of(address, SELF);
        assertThat(owned.stillHeld(SELF), is(true));

        server.close();
        assertThat(owned.stillHeld(SELF), is(false));
        try (ServerSocketChannel again = ServerSocketChannel.open().bind(address)) {
            assertThat("the same port, another socket", owned.stillHeld(SELF), is(false));
            assertThat(PortOwnership.of(address, SELF).stillHeld(SELF), is(true));
        }
        assertThat("a check that did not find the port owned", PortOwnership.of(address, SELF).stillHeld(SELF), is(false));
    }

    /**
     * What the relay takes a refused connect for: proof that nothing listens on the port. On this
     * kernel (tcp_abort_on_overflow unset) a listener whose accept queue is full does not refuse: the
     * connect waits, unanswered.
     */
    @Test
    void onlyAPortNobodyListensOnRefusesAConnectionAListenerWithAFullQueueLeavesItWaiting() throws Exception {
        assumeTrue(PortOwnership.refusalProvesNobodyListens(), "net.ipv4.tcp_abort_on_overflow is set on this machine");
        InetSocketAddress nobody = new InetSocketAddress("127.0.0.1", freePort());
        assertThat(connectWithin(nobody, 5_000), is("refused: java.net.ConnectException"));

        List<SocketChannel> fillers = new java.util.ArrayList<>();
        try (ServerSocketChannel full = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0), 1)) {
            InetSocketAddress address = (InetSocketAddress) full.getLocalAddress();
            String answer = "";
            for (int i = 0; i < 10 && !answer.equals("no answer"); i++) {
                SocketChannel filler = SocketChannel.open();
                fillers.add(filler);
                answer = connectWithin(filler, address, 2_000);
            }
            assertThat(answer, is("no answer"));
        } finally {
            for (SocketChannel filler : fillers) filler.close();
        }
    }

    @Test
    void aPortNobodyListensOnIsSaidSo() throws Exception {
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", freePort());

        PortOwnership owners = PortOwnership.of(address, SELF);

        assertThat(owners.verdict(), is(PortOwnership.Verdict.NOBODY_LISTENS));
        assertThat(owners.describe(), is("nothing listens on port " + address.getPort()));
    }

    @Test
    void everyListenerThatAConnectionToTheAddressCouldReachIsFoundInTheTablesLines() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "these lines are as a little-endian kernel writes them");
        InetSocketAddress v4 = new InetSocketAddress("127.0.0.1", 8080);
        InetSocketAddress v6 = new InetSocketAddress("::1", 8080);

        assertThat(reaches("0100007F:1F90", "0A", v4), is(true));                    // 127.0.0.1
        assertThat(reaches("00000000:1F90", "0A", v4), is(true));                    // 0.0.0.0
        assertThat(reaches("00000000000000000000000000000000:1F90", "0A", v4), is(true));   // ::
        assertThat(reaches("0000000000000000FFFF00000100007F:1F90", "0A", v4), is(true));   // ::ffff:127.0.0.1
        assertThat(reaches("0200007F:1F90", "0A", v4), is(false));                   // 127.0.0.2
        assertThat(reaches("0100007F:1F91", "0A", v4), is(false));                   // another port
        assertThat(reaches("0100007F:1F90", "01", v4), is(false));                   // established, not listening
        assertThat(reaches("00000000000000000000000001000000:1F90", "0A", v4), is(false));  // ::1

        assertThat(reaches("00000000000000000000000001000000:1F90", "0A", v6), is(true));   // ::1
        assertThat(reaches("00000000000000000000000000000000:1F90", "0A", v6), is(true));   // ::
        assertThat(reaches("00000000:1F90", "0A", v6), is(false));                   // 0.0.0.0 takes no IPv6

        PortOwnership.TableEntry entry = PortOwnership.parse(line("0100007F:1F90", "0A", "4294967294", "123456789"));
        assertThat(entry.uid(), is(4294967294L));
        assertThat(entry.inode(), is(123456789L));
    }

    @Test
    void malformedTableLinesAreSkipped() {
        List<String> malformed = List.of(
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
                "", "garbage", "0:", "   0: 0100007F:1F90 00000000:0000 0A",
                line("0100007F:1F9", "0A", "0", "1"), line("0100007F:1F900", "0A", "0", "1"), line("0100007G:1F90", "0A", "0", "1"),
                line("0100007F1F90", "0A", "0", "1"), line("100007F:1F90", "0A", "0", "1"), line("0100007F:1F90", "A", "0", "1"),
                line("0100007F:1F90", "0A", "-1", "1"), line("0100007F:1F90", "0A", "0", "x"), line("0100007F:-F90", "0A", "0", "1"));
        for (String line : malformed) assertThat(line, PortOwnership.parse(line), is(nullValue()));
    }

    // ---- helpers ----

    private static boolean reaches(String local, String state, InetSocketAddress target) {
        return PortOwnership.parse(line(local, state, "1000", "4242")).reaches(target);
    }

    /** A line as /proc/net/tcp (or tcp6) writes it. */
    private static String line(String local, String state, String uid, String inode) {
        String remote = local.length() > 13 ? "00000000000000000000000000000000:0000" : "00000000:0000";
        return "   0: " + local + " " + remote + " " + state + " 00000000:00000000 00:00000000 00000000  " + uid
                + "        0 " + inode + " 1 0000000000000000 100 0 0 10 0";
    }

    /** A non-blocking connect, as the relay makes it: "connected", "refused: " and the exception's class, or "no answer" within the limit. */
    private static String connectWithin(InetSocketAddress address, long millis) throws IOException {
        try (SocketChannel channel = SocketChannel.open()) {
            return connectWithin(channel, address, millis);
        }
    }

    private static String connectWithin(SocketChannel channel, InetSocketAddress address, long millis) throws IOException {
        channel.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            if (channel.connect(address)) return "connected";
            channel.register(selector, SelectionKey.OP_CONNECT);
            if (selector.select(millis) == 0) return "no answer";
            return channel.finishConnect() ? "connected" : "no answer";
        } catch (IOException refused) {
            return "refused: " + refused.getClass().getName();
        }
    }

    private static long myUid() throws IOException {
        return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    }

    private static int freePort() throws IOException {
        try (ServerSocketChannel probe = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return ((InetSocketAddress) probe.getLocalAddress()).getPort();
        }
    }

    private static Process javaChild(Class<?> main, String... args) throws Exception {
        String classpath = Path.of(main.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Xmx32m", "-XX:TieredStopAtLevel=1", "-cp", classpath, main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** Waits (bounded) until the child's port takes a connection. */
    private static void awaitListening(InetSocketAddress address, Process child) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline && child.isAlive()) {
            try (SocketChannel probe = SocketChannel.open(address)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        throw new AssertionError("the child (pid " + child.pid() + ", " + (child.isAlive() ? "alive" : "exited") + ") never listened on " + address);
    }

    private static void stop(Process process) throws InterruptedException {
        process.destroyForcibly();
        assertThat("pid " + process.pid() + " ended", process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), is(true));
    }
}
