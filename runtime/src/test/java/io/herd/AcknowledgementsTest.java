package io.herd;

import io.herd.ipc.IpcMessage;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;

/**
 * The SDK's acknowledgements, against a master slow to read (a sender that holds its first
 * message until the test lets it go): app threads that take connections meanwhile share the next
 * messages, at most {@link IpcMessage#MAX_BATCH} ids each, and none returns before its own id
 * was sent.
 */
@Timeout(60)
class AcknowledgementsTest {

    @Test
    void appThreadsThatTakeConnectionsWhileAnAckIsBeingSentShareTheNextMessages() throws Exception {
        List<List<Long>> messages = new CopyOnWriteArrayList<>();
        CountDownLatch firstBeingSent = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        Acknowledgements acknowledgements = new Acknowledgements((ids, count) -> {
            messages.add(LongStream.of(ids).limit(count).boxed().toList());
            if (messages.size() == 1) {
                firstBeingSent.countDown();
                awaitOrFail(letGo, "the test to let the first message go");
            }
        });
        int others = IpcMessage.MAX_BATCH + 8;
        try (ExecutorService appThreads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> taking = new ArrayList<>();
            taking.add(appThreads.submit(() -> acknowledgeAndCheckSent(acknowledgements, 1, messages)));
            awaitOrFail(firstBeingSent, "the first acknowledgement to be sent");
            for (long id = 2; id <= others + 1; id++) {
                long taken = id;
                taking.add(appThreads.submit(() -> acknowledgeAndCheckSent(acknowledgements, taken, messages)));
            }
            Await.until("the other threads' ids queued", acknowledgements::queued, queued -> queued == others, Duration.ofSeconds(30));
            letGo.countDown();
            for (Future<?> taken : taking) taken.get(30, TimeUnit.SECONDS); // each checked its id was sent before it returned
        }

        assertThat("ids per message", messages.stream().map(List::size).toList(), contains(1, IpcMessage.MAX_BATCH, 8));
        assertThat("the ids sent", messages.stream().flatMap(List::stream).toList(),
                containsInAnyOrder(LongStream.rangeClosed(1, others + 1).boxed().toArray()));
    }

    private static void awaitOrFail(CountDownLatch latch, String what) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) throw new AssertionError("waited 30 s for " + what);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for " + what, e);
        }
    }

    /** What accept() does: acknowledges, then hands the connection to the app, which may rely on the master knowing. */
    private static Void acknowledgeAndCheckSent(Acknowledgements acknowledgements, long id, List<List<Long>> messages) throws Exception {
        acknowledgements.acknowledge(id);
        assertThat("ids sent when the acknowledgement of " + id + " returned", messages.stream().flatMap(List::stream).toList(), hasItem(id));
        return null;
    }
}
