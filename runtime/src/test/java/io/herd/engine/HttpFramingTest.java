package io.herd.engine;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.nullValue;

/**
 * {@link HttpFraming}: what it makes of conversations, each fed to it whole, byte by byte, and
 * split in two at every offset of every read (at a buffer position other than 0, as the relay's
 * reads may be) — which must all come out the same: where {@code Connection: close} goes, whether
 * the connection is to be closed, and whether (and why) it is relayed as plain bytes.
 */
class HttpFramingTest {
    private static final String GET = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    /** Where {@code Connection: close} goes in a response starting "HTTP/1.1 200 OK\r\n". */
    private static final int AFTER_OK_STATUS_LINE = "HTTP/1.1 200 OK\r\n".length();

    // ---- followed: keep-alive exchanges, and the close while draining

    @Test
    void anExchangeWhileNotDrainingIsFollowedAndLeftOpen() {
        assertThat(outcome(client(GET), worker(OK), client(GET), worker(OK)), is(Outcome.followed()));
    }

    @Test
    void whileDrainingTheNextResponseGetsTheCloseAfterItsStatusLineAndTheConnectionClosesWhenItEnds() {
        assertThat(outcome(client(GET), worker(OK), client(GET), draining(OK)), is(Outcome.closing(OK.length() + AFTER_OK_STATUS_LINE)));
    }

    @Test
    void aMarkedResponseNotEndedYetDoesNotCloseTheConnection() {
        assertThat(outcome(client(GET), draining(OK.substring(0, OK.length() - 1))), is(Outcome.marked(AFTER_OK_STATUS_LINE)));
    }

    @Test
    void aResponseWhoseStatusLineEndedBeforeTheDrainIsNotMarkedButTheNextIs() {
        String head = "HTTP/1.1 200 OK\r\n";
        assertThat(outcome(client(GET), worker(head), draining("Content-Length: 5\r\n\r\nhello"), client(GET), draining(OK)),
                is(Outcome.closing(head.length() + "Content-Length: 5\r\n\r\nhello".length() + AFTER_OK_STATUS_LINE)));
    }

    @Test
    void aChunkedResponseWithExtensionsAndTrailersEndsAfterItsLastCrlf() {
        String chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n" + "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n" + "0\r\nX-Trailer: done\r\n\r\n";
        assertThat(outcome(client(GET), draining(chunked)), is(Outcome.closing(AFTER_OK_STATUS_LINE)));
        assertThat("one byte short", outcome(client(GET), draining(chunked.substring(0, chunked.length() - 1))),
                is(Outcome.marked(AFTER_OK_STATUS_LINE)));
    }

    @Test
    void aChunkedRequestBodyIsFollowedToItsEnd() {
        String post = "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assertThat(outcome(client(post), draining(OK)), is(Outcome.closing(AFTER_OK_STATUS_LINE)));
    }

    @Test
    void aContentLengthBodyIsSkippedByArithmetic() {
        String body = "x".repeat(100_000);
        String post = "POST /upload HTTP/1.1\r\nContent-Length: " + body.length() + "\r\n\r\n";
        String answer = "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n";
        assertThat(outcome(client(post), client(body), draining(answer), draining(body)), is(Outcome.closing(AFTER_OK_STATUS_LINE)));
    }

    @Test
    void repeatedEqualContentLengthsAreOneLength() {
        assertThat(outcome(client(GET), draining("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length:5 \r\n\r\nhello")),
                is(Outcome.closing(AFTER_OK_STATUS_LINE)));
    }

    @Test
    void theAnswersToHeadAnd204And304HaveNoBodyWhateverTheirFieldsSay() {
        String head = "HEAD / HTTP/1.1\r\n\r\n";
        assertThat(outcome(client(head), draining("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")), is(Outcome.closing(AFTER_OK_STATUS_LINE)));
        assertThat(outcome(client(GET), draining("HTTP/1.1 204 No Content\r\n\r\n")), is(Outcome.closing("HTTP/1.1 204 No Content\r\n".length())));
        assertThat(outcome(client(GET), draining("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n")),
                is(Outcome.closing("HTTP/1.1 304 Not Modified\r\n".length())));
    }

    @Test
    void anInterimContinueIsNotMarkedTheFinalResponseIs() {
        String head = "PUT /file HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
        String proceed = "HTTP/1.1 100 Continue\r\n\r\n";
        assertThat(outcome(client(head), draining(proceed), client("hello"), draining(OK)),
                is(Outcome.closing(proceed.length() + AFTER_OK_STATUS_LINE)));
    }

    @Test
    void http10ExchangesAreFollowedToo() {
        assertThat(outcome(client("GET / HTTP/1.0\r\n\r\n"), draining("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")),
                is(Outcome.closing("HTTP/1.0 200 OK\r\n".length())));
    }

    @Test
    void aStatusLineWithoutAReasonIsFollowed() {
        assertThat(outcome(client(GET), draining("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")), is(Outcome.closing("HTTP/1.1 200\r\n".length())));
    }

    // ---- relayed as plain bytes: what it cannot follow for certain

    @Test
    void pipelinedRequestsAreRelayedAsPlainBytes() {
        assertThat(outcome(client(GET + GET), draining(OK), draining(OK)), is(Outcome.plain("pipelined requests")));
        assertThat(outcome(client(GET), client(GET), draining(OK)), is(Outcome.plain("pipelined requests")));
    }

    @Test
    void anUpgradeIsRelayedAsPlainBytesWhicheverSideSaysIt() {
        assertThat(outcome(client("GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")),
                is(Outcome.plain("an Upgrade request")));
        assertThat(outcome(client(GET), draining("HTTP/1.1 101 Switching Protocols\r\n\r\n")), is(Outcome.plain("an upgrade (101)")));
        assertThat(outcome(client("CONNECT example:443 HTTP/1.1\r\n\r\n")), is(Outcome.plain("a CONNECT request")));
    }

    @Test
    void ambiguousOrUnfollowableBodiesAreRelayedAsPlainBytes() {
        assertThat(outcome(client("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")),
                is(Outcome.plain("both Content-Length and Transfer-Encoding")));
        assertThat(outcome(client("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n")),
                is(Outcome.plain("Content-Length fields that disagree")));
        assertThat(outcome(client("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n")), is(Outcome.plain("a bad Content-Length")));
        assertThat(outcome(client("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")),
                is(Outcome.plain("a request Transfer-Encoding not ending in chunked")));
        assertThat(outcome(client("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n")),
                is(Outcome.plain("a transfer coding after chunked")));
        assertThat(outcome(client(GET), draining("HTTP/1.1 200 OK\r\n\r\nuntil the end")),
                is(Outcome.plain("a response delimited by the connection's close", AFTER_OK_STATUS_LINE)));
        assertThat(outcome(client("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n")),
                is(Outcome.plain("a chunk size over 15 hex digits")));
        assertThat(outcome(client("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n")),
                is(Outcome.plain("chunk data longer than its size")));
    }

    @Test
    void garbageEitherWayIsRelayedAsPlainBytes() {
        assertThat(outcome(client("\u0000\u0001 not http at all\r\n\r\n")), is(Outcome.plain("a bad request method")));
        assertThat(outcome(client("GET / HTTP/2.0\r\n\r\n")), is(Outcome.plain("a version other than HTTP/1.0 or HTTP/1.1")));
        assertThat(outcome(client("GET / HTTP/1.1\nHost: x\n\n")), is(Outcome.plain("a line ended by a bare LF")));
        assertThat(outcome(client("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n")), is(Outcome.plain("a folded field line")));
        assertThat(outcome(client("GET / HTTP/1.1\r\nHost : x\r\n\r\n")), is(Outcome.plain("a bad field name")));
        assertThat(outcome(client("GET / HTTP/1.1\r\nno colon\r\n\r\n")), is(Outcome.plain("a bad field name")));
        assertThat(outcome(client(GET), worker("HTTP/1.1 2OO OK\r\n\r\n")), is(Outcome.plain("a bad status code")));
        assertThat(outcome(client(GET), worker("SSH-2.0-OpenSSH\r\n")), is(Outcome.plain("a version other than HTTP/1.0 or HTTP/1.1")));
        assertThat(outcome(client(GET), worker("HTTP/1.1 200 OK\r\nX: a\u0000b\r\n\r\n")), is(Outcome.plain("a control byte in a field value")));
    }

    @Test
    void responseBytesNoRequestCalledForAreRelayedAsPlainBytes() {
        assertThat(outcome(worker(OK)), is(Outcome.plain("response bytes with no request to answer")));
        assertThat("a second response", outcome(client(GET), worker(OK + OK)), is(Outcome.plain("response bytes with no request to answer")));
        assertThat("a response before the request's head ended", outcome(client("GET / HTTP/1.1\r\n"), worker(OK)),
                is(Outcome.plain("response bytes with no request to answer")));
        assertThat(outcome(client("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel"), worker(OK)),
                is(Outcome.plain("a response that ended before its request")));
    }

    @Test
    void bytesAfterTheResponseThatClosesKeepTheConnectionOpenAsPlainBytes() {
        assertThat("the worker's", outcome(client(GET), draining(OK + "more")),
                is(Outcome.plain("response bytes with no request to answer", AFTER_OK_STATUS_LINE)));
        assertThat("the client's", outcome(client(GET), draining(OK), client(GET)),
                is(Outcome.plain("a request after the response that closes the connection", AFTER_OK_STATUS_LINE)));
    }

    @Test
    void linesAndHeadsPastTheirBoundsAreRelayedAsPlainBytes() {
        String longTarget = "/" + "a".repeat(HttpFraming.MAX_LINE);
        assertThat(outcome(client("GET " + longTarget + " HTTP/1.1\r\n\r\n")), is(Outcome.plain("a start line over 8192 bytes")));
        String field = "X-Filler: " + "f".repeat(1000) + "\r\n";
        String bigHead = "GET / HTTP/1.1\r\n" + field.repeat(HttpFraming.MAX_HEAD / field.length() + 1) + "\r\n";
        assertThat(outcome(client(bigHead)), is(Outcome.plain("a head over 65536 bytes")));
        String justUnder = "GET / HTTP/1.1\r\n" + field.repeat(HttpFraming.MAX_HEAD / field.length() - 1) + "\r\n";
        assertThat(outcome(client(justUnder), draining(OK)), is(Outcome.closing(AFTER_OK_STATUS_LINE)));
    }

    /** Targets, field values, reasons and chunk extensions are looked at eight bytes at a time: wherever the byte falls, the same. */
    @Test
    void longTextIsCheckedWhereverItsOddBytesFall() {
        String request = "GET /" + "a".repeat(40) + "?q=\u00e9t\u00e9 HTTP/1.1\r\nX-Long: " + "v".repeat(37) + "\t" + "w".repeat(20) + "\u00ff"
                + "z".repeat(9) + "\r\n\r\n";
        String statusLine = "HTTP/1.1 200 " + "Fine".repeat(10) + "\r\n";
        String chunked = statusLine + "Transfer-Encoding: chunked\r\n\r\n" + "3;" + "ext=value;".repeat(5) + "\r\nabc\r\n0\r\n\r\n";
        assertThat(outcome(client(request), draining(chunked)), is(Outcome.closing(statusLine.length())));
        for (int at = 0; at < 17; at++) {
            String value = "v".repeat(at);
            assertThat(outcome(client("GET / HTTP/1.1\r\nX: " + value + "\u0000" + value + "\r\n\r\n")), is(Outcome.plain("a control byte in a field value")));
            assertThat(outcome(client("GET / HTTP/1.1\r\nX: " + value + "\u007f" + value + "\r\n\r\n")), is(Outcome.plain("a control byte in a field value")));
            assertThat(outcome(client("GET /" + value + "\u0001 HTTP/1.1\r\n\r\n")), is(Outcome.plain("a bad request target")));
            assertThat(outcome(client(GET), worker("HTTP/1.1 200 " + value + "\u0007\r\n\r\n")), is(Outcome.plain("a control byte in a reason phrase")));
            assertThat(outcome(client("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;" + value + "\u0000\r\n")),
                    is(Outcome.plain("a control byte in a chunk extension")));
        }
    }

    /** The relay's hot path: following keep-alive exchanges allocates nothing per request. */
    @Test
    void followingExchangesAllocatesNothingPerRequest() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        HttpFraming http = new HttpFraming();
        ByteBuffer request = ByteBuffer.wrap(bytes("GET /index.html HTTP/1.1\r\nHost: example\r\nAccept: */*\r\nContent-Length: 0\r\n\r\n"));
        ByteBuffer response = ByteBuffer.wrap(bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n"));
        for (int i = 0; i < 20_000; i++) exchange(http, request, response); // compiled
        long before = threads.getCurrentThreadAllocatedBytes();
        int exchanges = 100_000;
        for (int i = 0; i < exchanges; i++) exchange(http, request, response);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        assertThat(http.plainBecause(), is(nullValue()));
        assertThat("bytes allocated for " + exchanges + " exchanges", allocated, lessThan(64L * 1024));
    }

    private static void exchange(HttpFraming http, ByteBuffer request, ByteBuffer response) {
        http.fromClient(request);
        http.fromWorker(response, false);
    }

    // ---- the harness

    /** One read's worth of bytes: from the client, or from the worker (while it drains, or not). */
    private record Step(boolean fromClient, boolean draining, byte[] bytes) {
    }

    private static Step client(String text) {
        return new Step(true, false, bytes(text));
    }

    private static Step worker(String text) {
        return new Step(false, false, bytes(text));
    }

    private static Step draining(String text) {
        return new Step(false, true, bytes(text));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * What the framing made of a conversation: where in the worker's bytes {@code Connection: close}
     * went (-1: nowhere), whether the connection is to be closed, and why it is plain bytes (null: it is not).
     */
    record Outcome(int insertedAt, boolean closeNow, String plainBecause) {
        static Outcome followed() {
            return new Outcome(-1, false, null);
        }

        static Outcome marked(int insertedAt) {
            return new Outcome(insertedAt, false, null);
        }

        static Outcome closing(int insertedAt) {
            return new Outcome(insertedAt, true, null);
        }

        static Outcome plain(String why) {
            return new Outcome(-1, false, why);
        }

        static Outcome plain(String why, int insertedAt) {
            return new Outcome(insertedAt, false, why);
        }
    }

    /** The outcome of the steps fed whole, after checking that every other way of cutting them into reads gives the same. */
    private static Outcome outcome(Step... steps) {
        Outcome whole = feed(steps, step -> List.of(new int[] {0, step.bytes.length}));
        Outcome byteByByte = feed(steps, step -> {
            List<int[]> reads = new ArrayList<>();
            for (int i = 0; i < step.bytes.length; i++) reads.add(new int[] {i, i + 1});
            return reads;
        });
        assertThat("fed byte by byte", byteByByte, is(whole));
        int longest = 0;
        for (Step step : steps) longest = Math.max(longest, step.bytes.length);
        int stride = Math.max(1, longest / 3000); // every offset of a short read; a sample of a long one's
        for (int cut = 0; cut <= longest; cut += stride) {
            int at = cut;
            Outcome split = feed(steps, step -> List.of(new int[] {0, Math.min(at, step.bytes.length)},
                    new int[] {Math.min(at, step.bytes.length), step.bytes.length}));
            assertThat("each read split at " + at, split, is(whole));
        }
        return whole;
    }

    private interface Reads {
        List<int[]> of(Step step);
    }

    private static Outcome feed(Step[] steps, Reads reads) {
        HttpFraming http = new HttpFraming();
        int workerOffset = 0;
        int insertedAt = -1;
        int padding = 7; // reads at a position other than 0, as in a buffer the relay reads into after other bytes
        for (Step step : steps) {
            byte[] room = new byte[padding + step.bytes.length + padding];
            System.arraycopy(step.bytes, 0, room, padding, step.bytes.length);
            for (int[] read : reads.of(step)) {
                ByteBuffer buffer = ByteBuffer.wrap(room, padding + read[0], read[1] - read[0]);
                if (step.fromClient) {
                    http.fromClient(buffer);
                } else {
                    http.fromWorker(buffer, step.draining);
                    if (http.insertAt() >= 0) {
                        assertThat("one insertion per connection", insertedAt, is(-1));
                        insertedAt = workerOffset + http.insertAt() - padding;
                    }
                }
                assertThat("the buffer's position and limit are left as they were", buffer.position() == padding + read[0]
                        && buffer.limit() == padding + read[1], is(true));
            }
            if (!step.fromClient) workerOffset += step.bytes.length;
        }
        return new Outcome(insertedAt, http.closeNow(), http.plainBecause());
    }
}
