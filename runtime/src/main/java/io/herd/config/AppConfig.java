package io.herd.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One clustered app, as the {@code app.<name>.*} keys of the configuration describe it (each
 * declared, with its default and bounds, in {@link Settings}).
 *
 * @param name          the app's name: lower-case letters, digits and '-'
 * @param listen        the addresses the master accepts on for this app
 * @param agentListen   where HAProxy's agent check asks how the app is doing; null for none
 * @param instances     how many workers; the configured 0 ("one per CPU core") is already resolved
 * @param spares        how many extra workers are kept ready out of rotation, to take a crashed
 *                      worker's place at once, or to be taken first by a scale-up
 * @param jar           the app's jar, run with {@code -jar} unless {@code mainClass} is set; may be null
 * @param classpath     used with {@code mainClass} when there is no jar; may be empty
 * @param mainClass     may be null when {@code jar} names its own main class
 * @param jvmOptions    options for each worker JVM; herd adds the flags its SDK needs itself
 * @param aot           whether workers start with an AOT cache herd trained from an earlier worker
 * @param args          the app's arguments
 * @param env           environment added to each worker's (after the service's own)
 * @param workDir       each worker's working directory
 * @param balance       how connections are spread over the workers
 * @param queueSize     connections that may wait while no worker is ready; more are closed
 * @param queueTimeout  how long a connection may wait for a ready worker before it is closed
 * @param readyTimeout  how long a new worker has to call {@code ready()}; past it, it failed
 * @param killTimeout   how long a stopping worker has before it is killed (SIGKILL)
 * @param pingTimeout   herd pings each worker's SDK over IPC every ~2 s; a worker that leaves a
 *                      ping unanswered this long is unresponsive (stopped, paused, its JVM stuck): it
 *                      is killed (SIGKILL) and restarted, and the connections it had not taken go
 *                      to other workers. Workers without the SDK (proxy dispatch) are not pinged
 * @param maxInstances  the most workers {@code scale} may ask for
 * @param reloadSurge   how many replacements a rolling reload runs at once, beyond the app's workers
 * @param restart       when a worker that exited unexpectedly is started again
 * @param maxMemoryBytes a worker whose resident memory (RSS) passes this is replaced, like in a
 *                      graceful reload; 0 for no limit
 * @param memoryCheckInterval how often, roughly (jittered), worker memory is checked against it
 * @param health        the HTTP health check each worker in rotation gets, or null for none
 * @param dispatch      whether workers get the socket itself (the SDK) or a relay of its bytes
 * @param proxy         how proxy dispatch relays; unused in handoff dispatch
 */
public record AppConfig(
        String name,
        List<InetSocketAddress> listen,
        InetSocketAddress agentListen,
        int instances,
        int spares,
        Path jar,
        List<Path> classpath,
        String mainClass,
        List<String> jvmOptions,
        Aot aot,
        List<String> args,
        Map<String, String> env,
        Path workDir,
        Balance balance,
        int queueSize,
        Duration queueTimeout,
        Duration readyTimeout,
        Duration killTimeout,
        Duration pingTimeout,
        int maxInstances,
        ReloadSurge reloadSurge,
        Restart restart,
        long maxMemoryBytes,
        Duration memoryCheckInterval,
        Health health,
        Dispatch dispatch,
        Proxy proxy) {

    public AppConfig {
        listen = List.copyOf(listen);
        classpath = List.copyOf(classpath);
        jvmOptions = List.copyOf(jvmOptions);
        args = List.copyOf(args);
        env = Map.copyOf(env);
    }

    /**
     * The restart policy. A worker that had been online at least {@code minUptime} exited stable
     * and is restarted after {@code delay} (by default 0: at once), always. One that exits sooner,
     * or never came online, is unstable: the first of them waits the longer of {@code delay} and
     * {@code backoff}, each further one in a row ×1.5 longer, up to {@code maxDelay}, and more
     * than {@code maxRestarts} of them in a row leave the instance errored instead of restarted.
     * A stable exit resets both. (PM2's exponential back-off grows over every exit and resets
     * only after 30 s of stability; see the README.)
     */
    public record Restart(int maxRestarts, Duration minUptime, Duration delay, Duration backoff, Duration maxDelay) {
    }

    /** This app with another number of workers, as after a scale. */
    public AppConfig withInstances(int count) {
        return new AppConfig(name, listen, agentListen, count, spares, jar, classpath, mainClass, jvmOptions, aot, args, env, workDir, balance, queueSize,
                queueTimeout, readyTimeout, killTimeout, pingTimeout, maxInstances, reloadSurge, restart, maxMemoryBytes,
                memoryCheckInterval, health, dispatch, proxy);
    }

    /**
     * An HTTP health check: every {@code interval} (jittered), each worker in rotation gets a GET
     * for {@code url}, reaching it as clients' connections do; one that fails {@code failures}
     * checks in a row (no status 200-399 within {@code timeout}) is replaced, replacement first.
     *
     * @param url      the path asked for, and the Host header sent
     * @param interval from one check of a worker to its next; none in a worker's first interval online
     * @param timeout  a check that has no status line within this failed; shorter than {@code interval}
     * @param failures checks failed in a row that get a worker replaced; at least 1
     */
    public record Health(HealthUrl url, Duration interval, Duration timeout, int failures) {
    }

    /** True when the master relays this app's bytes rather than handing off sockets. */
    public boolean proxied() {
        return dispatch == Dispatch.PROXY;
    }

    /** True when each worker accepts from the app's listening socket itself (shared dispatch). */
    public boolean shared() {
        return dispatch == Dispatch.SHARED;
    }

    /**
     * Proxy dispatch's settings.
     *
     * @param header         what the master first tells the worker about the client, if anything
     * @param idleTimeout    a relayed connection with no byte either way for this long is closed
     * @param maxConnections the most connections the master holds open for the app (waiting or
     *                       relayed); one more is refused at once, and counted. Each relayed
     *                       connection holds up to two 32 KiB direct buffers in the master
     * @param http           follow HTTP/1.1 messages, so that a draining worker's keep-alive
     *                       connections close after a complete response
     */
    public record Proxy(Header header, Duration idleTimeout, int maxConnections, boolean http) {
        /** The PROXY protocol header (HAProxy's) the worker reads first, to learn the client's address; written none, v1 or v2. */
        public enum Header {
            NONE, V1, V2
        }
    }
}
