package io.herd.engine;

import io.herd.testapp.HttpApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.nullValue;

/** The health check's own I/O, on real sockets: the loopback pair it hands workers, and what answers pass. */
@Timeout(30)
class HealthProbeTest {
    @Test
    void aConnectionAnotherLocalProcessRacesToTheLoopbackPortIsClosedNotHandedToAWorker() throws Exception {
        try (HealthProbe probe = new HealthProbe(TestCluster.config("web", HttpApp.class, 1, Map.of("health.url", "/healthz")).app("web"))) {
            closeAll(probe.loopbackPair(deadlineInSeconds(5))); // the listener is made at the first check
            InetSocketAddress listener = probe.loopbackAddress();
            try (Socket intruder = new Socket()) {
                intruder.connect(listener, 5_000); // queued before the check's own connection
                SocketChannel[] pair = probe.loopbackPair(deadlineInSeconds(5));
                try {
                    int checkPort = ((InetSocketAddress) pair[0].getLocalAddress()).getPort();
                    assertThat("the accepted end is the check's own connection",
                            ((InetSocketAddress) pair[1].getRemoteAddress()).getPort(), is(checkPort));
                    intruder.setSoTimeout(5_000);
                    assertThat("the intruder's connection was closed", intruder.getInputStream().read(), is(-1));
                } finally {
                    closeAll(pair);
                }
            }
        }
    }

    /**
     * The intruder binds another loopback address (Linux routes all of 127/8 to lo) to the port
     * number the check's own socket has, and gets into the listener's queue first. The check's
     * port cannot be known before its connect, so the test makes the check's socket itself and
     * calls what {@link HealthProbe#loopbackPair} calls with it.
     */
    @Test
    void aConnectionFromAnotherLoopbackAddressWithTheChecksPortNumberIsClosedNotHandedToAWorker() throws Exception {
        try (HealthProbe probe = new HealthProbe(TestCluster.config("web", HttpApp.class, 1, Map.of("health.url", "/healthz")).app("web"))) {
            closeAll(probe.loopbackPair(deadlineInSeconds(5))); // the listener is made at the first check
            InetSocketAddress listener = probe.loopbackAddress();
            try (SocketChannel check = SocketChannel.open(); Socket intruder = new Socket()) {
                check.bind(new InetSocketAddress("127.0.0.1", 0));
                InetSocketAddress checkEnd = (InetSocketAddress) check.getLocalAddress();
                intruder.bind(new InetSocketAddress("127.0.0.2", checkEnd.getPort()));
                intruder.connect(listener, 5_000); // queued before the check's own connection
                check.connect(listener);
                try (SocketChannel accepted = probe.acceptFrom(checkEnd, deadlineInSeconds(5))) {
                    assertThat("the accepted end is the check's own connection", accepted.getRemoteAddress(), is(checkEnd));
                    intruder.setSoTimeout(5_000);
                    assertThat("the intruder's connection was closed", intruder.getInputStream().read(), is(-1));
                }
            }
        }
    }

    /**
     * A local process fills the listener's queue: the next check closes what is queued before it
     * connects, or its own connection could never get in (it accepts only once connected).
     */
    @Test
    void aLoopbackQueueFilledByAnotherLocalProcessIsEmptiedSoTheNextCheckConnects() throws Exception {
        try (HealthProbe probe = new HealthProbe(TestCluster.config("web", HttpApp.class, 1, Map.of("health.url", "/healthz")).app("web"))) {
            closeAll(probe.loopbackPair(deadlineInSeconds(5))); // the listener is made at the first check
            InetSocketAddress listener = probe.loopbackAddress();
            List<Socket> intruders = new ArrayList<>();
            try {
                while (true) {
                    Socket intruder = new Socket();
                    intruders.add(intruder);
                    try {
                        intruder.connect(listener, 500);
                    } catch (SocketTimeoutException queueFull) {
                        break; // the kernel drops connections to a full queue
                    }
                    assertThat("connections queued before the queue was full", intruders.size(), lessThan(1_000));
                }
                SocketChannel[] pair = probe.loopbackPair(deadlineInSeconds(5));
                try {
                    assertThat("the accepted end is the check's own connection", pair[1].getRemoteAddress(), is(pair[0].getLocalAddress()));
                    intruders.getFirst().setSoTimeout(5_000);
                    assertThat("a queued intruder's connection was closed", intruders.getFirst().getInputStream().read(), is(-1));
                } finally {
                    closeAll(pair);
                }
            } finally {
                for (Socket intruder : intruders) intruder.close();
            }
        }
    }

    @Test
    void aStatusFrom200To399PassesAndAnyOtherAnswerSaysWhatItWas() {
        assertThat(HealthProbe.status("HTTP/1.1 200 OK"), is(nullValue()));
        assertThat(HealthProbe.status("HTTP/1.0 302 Found"), is(nullValue()));
        assertThat(HealthProbe.status("HTTP/1.1 204"), is(nullValue()));
        assertThat(HealthProbe.status("HTTP/1.1 503 Service Unavailable"), is("status 503"));
        assertThat(HealthProbe.status("HTTP/1.1 404 Not Found"), is("status 404"));
        assertThat(HealthProbe.status("SSH-2.0-OpenSSH_9.6\u0007"), is("not an HTTP answer: 'SSH-2.0-OpenSSH_9.6\\u0007'"));
    }

    private static long deadlineInSeconds(int seconds) {
        return System.nanoTime() + seconds * 1_000_000_000L;
    }

    private static void closeAll(SocketChannel[] pair) throws IOException {
        for (SocketChannel channel : pair) channel.close();
    }
}
