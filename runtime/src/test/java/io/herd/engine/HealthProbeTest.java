package io.herd.engine;

import io.herd.testapp.HttpApp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
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
