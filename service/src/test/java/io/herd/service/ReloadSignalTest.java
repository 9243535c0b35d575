package io.herd.service;

import io.herd.engine.Cluster;
import io.herd.engine.Master;
import io.herd.engine.OperationEvent;
import io.herd.internal.SystemdNotifier;
import io.herd.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;

/** SIGUSR2 ({@link HerdDaemon#signal}) as it may come: during the start, before systemd's notifier has started. */
@Timeout(120)
class ReloadSignalTest {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    /** herd run handles SIGUSR2 from before the start: a deploy script's reload then runs once the start is over. */
    @Test
    void aReloadAskedForBeforeTheStartRunsOnceTheStartIsOver() throws Exception {
        HerdService service = new HerdService(HelloCluster.config(1, Map.of()));
        service.prepare();
        HerdDaemon daemon = new HerdDaemon(service);
        Cluster hello = service.master().cluster("hello");
        List<OperationEvent> reloads = new CopyOnWriteArrayList<>();
        hello.addOperationListener(event -> {
            if (event.operation().equals("gracefulReload")) reloads.add(event);
        });
        try {
            daemon.signal();
            assertThat("nothing runs before the start", reloads, is(empty()));
            daemon.start();
            Await.until("the reload asked for during the start, finished (events so far: " + reloads + ")",
                    () -> reloads.stream().anyMatch(event -> event.phase() == OperationEvent.Phase.FINISHED), done -> done, LIMIT);
            assertThat("the reload's events", reloads.stream().map(OperationEvent::phase).toList(),
                    is(List.of(OperationEvent.Phase.STARTED, OperationEvent.Phase.FINISHED)));
            Await.until("hello's worker online after the reload", () -> hello.info().online(), online -> online == 1, LIMIT);
        } finally {
            daemon.stop();
        }
    }

    /** What systemd hears of a reload told of before the notifier started: nothing, and no exception either. */
    @Test
    void theNotificationsTolerateAReloadBeforeTheyStarted() throws Exception {
        Master master = new Master(HelloCluster.config(1, Map.of()));
        SystemdNotifications notifications = new SystemdNotifications(master,
                SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "/nonexistent/herd-notify.sock"), ProcessHandle.current().pid()));
        notifications.reloading();
        notifications.reloaded("hello reloaded");
        assertThat(notifications.state(), is(io.herd.lifecycle.LifeCycle.State.STOPPED));
    }
}
