package io.herd.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static io.herd.config.Format.address;
import static io.herd.config.Format.addresses;
import static io.herd.config.Format.bool;
import static io.herd.config.Format.choice;
import static io.herd.config.Format.className;
import static io.herd.config.Format.classpath;
import static io.herd.config.Format.duration;
import static io.herd.config.Format.healthUrl;
import static io.herd.config.Format.host;
import static io.herd.config.Format.path;
import static io.herd.config.Format.port;
import static io.herd.config.Format.size;
import static io.herd.config.Format.surge;
import static io.herd.config.Format.text;
import static io.herd.config.Format.wholeNumber;
import static io.herd.config.Format.words;

/**
 * Every setting herd reads, each declared once, in the order the README's table shows them:
 * the {@code herd.*} keys of the service and the {@code app.<name>.*} keys of each app. Nothing
 * else spells a key or a default: the parser, the unknown-key message, {@code save}'s writer, the
 * CLI's defaults and the README's table all come from here.
 *
 * <p>Bounds: every number has one, so no value can overflow on its way in; a duration may be 0
 * only where 0 means something ({@code min.uptime}, {@code restart.delay}); a host must resolve.
 */
public final class Settings {
    private Settings() {
    }

    /** The most workers an app may have: a bound that catches typos such as {@code instances = 10000}. */
    public static final int MOST_INSTANCES = 256;
    /** The longest any duration may be: longer is a typo, and every timer stays far from overflowing. */
    private static final Duration LONGEST = Duration.ofHours(1);
    private static final Duration SHORTEST = Duration.ofMillis(1);

    // ---- the service: herd.*

    public static final Setting<HerdConfig, Path> LOGS_DIR = Setting.service("herd.logs.dir", "logs", path(), HerdConfig::logsDir,
            "herd's log and the workers' output");
    public static final Setting<HerdConfig, LogFormat> LOG_FORMAT = Setting.service("herd.log.format", "text", choice(LogFormat.class),
            HerdConfig::logFormat, "`json`: herd's log (console and `herd.log`) and every worker's files as one JSON object a line, for a "
                    + "log shipper (see \"Logs as JSON\"); read at start only: a change takes a restart");
    public static final Setting<HerdConfig, Duration> STOP_TIMEOUT = Setting.service("herd.stop.timeout", "10s",
            duration(SHORTEST, LONGEST), HerdConfig::stopTimeout, "how long a stopping service gives its workers before SIGKILL");
    public static final Setting<HerdConfig, Duration> DRAIN_DELAY = Setting.service("herd.drain.delay", "0s",
            duration(Duration.ZERO, LONGEST), HerdConfig::drainDelay, "on SIGTERM, a service stop, `stopApp` or `deleteApp` of a running app, herd first reports "
                    + "`drain` to balancers (agent checks, `herd.health.listen`) and keeps serving, unchanged, this long, then stops as "
                    + "without it; at least the balancer's check interval × fall count + one interval (see [Behind a balancer]"
                    + "(#behind-a-balancer)); systemd's `TimeoutStopSec` must cover it + `herd.stop.timeout`");
    public static final Setting<HerdConfig, InetSocketAddress> HEALTH_LISTEN = Setting.service("herd.health.listen", null, address(),
            HerdConfig::healthListen, "an unauthenticated, read-only HTTP endpoint for balancers, `GET /health/<app>`: "
                    + "200 `up`, else 503 `drain`, `maint` or `down`; 404 for an unknown app. It tells nothing else").shownAs("off");
    public static final Setting<HerdConfig, Path> IPC_DIR = Setting.service("herd.ipc.dir", null, path(), HerdConfig::ipcDir,
            "where the private (0700) IPC directory is made").shownAs("the temp directory");
    public static final Setting<HerdConfig, Integer> JMX_PORT = Setting.service("herd.jmx.port", null, port(1),
            jmx(HerdConfig.Jmx::port), "the JMX RMI connector (JConsole): registry and connector on this one port; users as Jolokia's")
            .shownAs("off");
    public static final Setting<HerdConfig, String> JMX_HOST = Setting.service("herd.jmx.host", "127.0.0.1", host(),
            jmx(HerdConfig.Jmx::host), "the address the JMX connector listens on");
    public static final Setting<HerdConfig, Boolean> JMX_SSL = Setting.service("herd.jmx.ssl", "false", bool(),
            config -> config.jmx() == null ? null : config.jmx().ssl() != null,
            "`true`: registry and connector speak TLS only, with the key and certificate in `herd.jmx.ssl.keystore`");
    public static final Setting<HerdConfig, Path> JMX_SSL_KEYSTORE = Setting.service("herd.jmx.ssl.keystore", null, path(),
            jmxTls(HerdConfig.Tls::keystore), "with TLS: the PKCS12 keystore holding the server's key and certificate");
    public static final Setting<HerdConfig, String> JMX_SSL_KEYSTORE_PASSWORD = Setting.service("herd.jmx.ssl.keystore.password", null,
            text(1), jmxTls(HerdConfig.Tls::keystorePassword), "with TLS: the keystore's password (or `.password.file`, not both)");
    public static final Setting<HerdConfig, Path> JMX_SSL_KEYSTORE_PASSWORD_FILE = Setting.service("herd.jmx.ssl.keystore.password.file",
            null, path(), jmxTls(HerdConfig.Tls::keystorePasswordFile), "with TLS: a file holding the keystore's password");
    public static final Setting<HerdConfig, String> JOLOKIA_HOST = Setting.service("herd.jolokia.host", "127.0.0.1", host(),
            jolokia(HerdConfig.Jolokia::host), "the address the Jolokia endpoint (curl, the CLI, hawtio) listens on");
    public static final Setting<HerdConfig, Integer> JOLOKIA_PORT = Setting.service("herd.jolokia.port", "8778", port(0),
            jolokia(HerdConfig.Jolokia::port), "the Jolokia endpoint's port; `0` for any free one");
    public static final Setting<HerdConfig, String> JOLOKIA_PASSWORD = Setting.service("herd.jolokia.password", null, text(8),
            jolokia(HerdConfig.Jolokia::password), "the operator's (`herd`) password; unset, it is generated into the file below");
    public static final Setting<HerdConfig, Path> JOLOKIA_PASSWORD_FILE = Setting.service("herd.jolokia.password.file",
            "var/jolokia.password", path(), jolokia(HerdConfig.Jolokia::passwordFile),
            "the file the operator's password is generated into at first start (0600)");
    public static final Setting<HerdConfig, String> JOLOKIA_MONITOR_PASSWORD = Setting.service("herd.jolokia.monitor.password", null,
            text(8), jolokia(HerdConfig.Jolokia::monitorPassword), "the same for `herd-monitor`, who may only read");
    public static final Setting<HerdConfig, Path> JOLOKIA_MONITOR_PASSWORD_FILE = Setting.service("herd.jolokia.monitor.password.file",
            "var/jolokia-monitor.password", path(), jolokia(HerdConfig.Jolokia::monitorPasswordFile), "the same for `herd-monitor`");
    public static final Setting<HerdConfig, Path> JOLOKIA_POLICY = Setting.service("herd.jolokia.policy", "conf/jolokia-access.xml",
            path(), jolokia(HerdConfig.Jolokia::policy), "Jolokia's access policy; a missing file denies everything");
    public static final Setting<HerdConfig, Boolean> JOLOKIA_SSL = Setting.service("herd.jolokia.ssl", "false", bool(),
            config -> config.jolokia().ssl() != null, "`true`: HTTPS only, with the key and certificate in `herd.jolokia.ssl.keystore`");
    public static final Setting<HerdConfig, Path> JOLOKIA_SSL_KEYSTORE = Setting.service("herd.jolokia.ssl.keystore", null, path(),
            jolokiaTls(HerdConfig.Tls::keystore), "with HTTPS: the PKCS12 keystore holding the server's key and certificate");
    public static final Setting<HerdConfig, String> JOLOKIA_SSL_KEYSTORE_PASSWORD = Setting.service("herd.jolokia.ssl.keystore.password",
            null, text(1), jolokiaTls(HerdConfig.Tls::keystorePassword), "with HTTPS: the keystore's password (or `.password.file`, not both)");
    public static final Setting<HerdConfig, Path> JOLOKIA_SSL_KEYSTORE_PASSWORD_FILE = Setting.service(
            "herd.jolokia.ssl.keystore.password.file", null, path(), jolokiaTls(HerdConfig.Tls::keystorePasswordFile),
            "with HTTPS: a file holding the keystore's password");

    // ---- each app: app.<name>.*

    public static final Setting<AppConfig, List<InetSocketAddress>> LISTEN = Setting.app("listen", null, addresses(), AppConfig::listen,
            "`host:port[, host:port...]`; `[::1]:8080` for IPv6 (required)");
    public static final Setting<AppConfig, InetSocketAddress> AGENT_LISTEN = Setting.app("agent.listen", null, address(),
            AppConfig::agentListen, "HAProxy's agent check (`agent-check agent-port ...`). Each connection gets one line, "
                    + "then is closed: `up ready 66%` (the share of instances online), `drain` (stopping, or in `herd.drain.delay`), `maint` "
                    + "(the app is stopped) or `down` (no worker online); see [Behind a balancer](#behind-a-balancer)").shownAs("off");
    public static final Setting<AppConfig, Integer> INSTANCES = Setting.app("instances", "1", wholeNumber(0, MOST_INSTANCES),
            AppConfig::instances, "worker JVMs; `0` means one per CPU core");
    public static final Setting<AppConfig, Integer> SPARES = Setting.app("spares", "0", wholeNumber(0, MOST_INSTANCES), AppConfig::spares,
            "warm spares: extra workers started and made ready but kept out of rotation (state `spare`). A spare takes a crashed "
                    + "worker's place at once, and a scale-up takes spares first; each is then replaced by a new spare. Spares have "
                    + "their own instance indices (`HERD_INSTANCE`), after the serving workers', and keep them when they take a place");
    public static final Setting<AppConfig, Path> JAR = Setting.app("jar", null, path(), AppConfig::jar, "the app's jar, run with `-jar`");
    public static final Setting<AppConfig, List<Path>> CLASSPATH = Setting.app("classpath", null, classpath(),
            app -> app.classpath().isEmpty() ? null : app.classpath(), "instead of (or with) `jar`: the class path, with `main`");
    public static final Setting<AppConfig, String> MAIN = Setting.app("main", null, className(), AppConfig::mainClass,
            "the main class: `com.example.Main`, `com.example.Outer$Inner`");
    public static final Setting<AppConfig, List<String>> JVM_OPTIONS = Setting.app("jvm.options", null, words(),
            app -> app.jvmOptions().isEmpty() ? null : app.jvmOptions(),
            "the app's own JVM options: words separated by spaces; a word holding spaces is written in double quotes "
                    + "(`\"-Dgreeting=hello world\"`), inside which `\\\"` is a quote and `\\\\` a backslash");
    public static final Setting<AppConfig, List<String>> ARGS = Setting.app("args", null, words(),
            app -> app.args().isEmpty() ? null : app.args(), "the app's arguments, written as `jvm.options` are");
    public static final Setting<AppConfig, Aot> AOT = Setting.app("aot", "auto", choice(Aot.class), AppConfig::aot,
            "`auto`: herd trains a JDK AOT cache from a worker's run, written as herd stops that worker, and starts later workers "
                    + "with it (faster start, less memory); kept in `var/aot/` per jar content, JDK and JVM options. Needs jars, not "
                    + "class directories. `off`: none");
    /** A family of keys, {@code app.<name>.env.<VAR>}: the parser and {@code save} handle each variable. */
    public static final Setting<AppConfig, String> ENV = Setting.app("env.<VAR>", null, text(0), app -> null,
            "environment for the workers (`HERD_*` is herd's)");
    public static final Setting<AppConfig, Path> WORKDIR = Setting.app("workdir", ".", path(), AppConfig::workDir,
            "the workers' working directory").shownAs("herd's home");
    public static final Setting<AppConfig, Balance> BALANCE = Setting.app("balance", "round-robin", choice(Balance.class),
            AppConfig::balance, "or `least-connections` (fewest open connections)");
    public static final Setting<AppConfig, Integer> QUEUE_SIZE = Setting.app("queue.size", "1024", wholeNumber(0, 1_000_000),
            AppConfig::queueSize, "connections that may wait (not refused) while no worker is ready; more are closed and counted");
    public static final Setting<AppConfig, Duration> QUEUE_TIMEOUT = Setting.app("queue.timeout", "10s", duration(SHORTEST, LONGEST),
            AppConfig::queueTimeout, "a waiting connection is closed and counted after this");
    public static final Setting<AppConfig, Duration> READY_TIMEOUT = Setting.app("ready.timeout", "30s", duration(SHORTEST, LONGEST),
            AppConfig::readyTimeout, "a new worker must call `ready()` within this, or it is killed (and the reload that started it stops)");
    public static final Setting<AppConfig, Duration> KILL_TIMEOUT = Setting.app("kill.timeout", "5s", duration(SHORTEST, LONGEST),
            AppConfig::killTimeout, "a worker asked to stop (reload, scale-down) is killed after this");
    public static final Setting<AppConfig, Duration> PING_TIMEOUT = Setting.app("ping.timeout", "10s", duration(Duration.ofSeconds(1), LONGEST),
            AppConfig::pingTimeout, "herd pings each worker's SDK over IPC every ~2 s; a worker that leaves a ping unanswered this long "
                    + "(SIGSTOPped, paused, its JVM stuck) is killed and restarted, and the connections it had not taken go to the other "
                    + "workers. A busy app still answers: the SDK's reader thread does. Not for apps without the SDK");
    public static final Setting<AppConfig, Integer> MAX_INSTANCES = Setting.app("max.instances", "32", wholeNumber(1, MOST_INSTANCES),
            AppConfig::maxInstances, "the most `scale` may ask for (at least `instances`)");
    /** Was {@code reload.parallelism} (batches of that many); a file that still says so loads, with a warning. */
    public static final Setting<AppConfig, ReloadSurge> RELOAD_SURGE = Setting.app("reload.surge", "1", surge(MOST_INSTANCES),
            AppConfig::reloadSurge, "replacements a reload runs at once, beyond the app's workers: a count, or a percentage of them "
                    + "(rounded up, at least 1), as Kubernetes' maxSurge; each old worker leaves as its replacement comes online, "
                    + "so capacity never drops. Formerly `reload.parallelism`").formerly("reload.parallelism");
    public static final Setting<AppConfig, Integer> MAX_RESTARTS = Setting.app("max.restarts", "16", wholeNumber(0, 1_000_000),
            app -> app.restart().maxRestarts(), "more unstable exits in a row than this (see `min.uptime`): `errored`, not restarted until an operator acts");
    public static final Setting<AppConfig, Duration> MIN_UPTIME = Setting.app("min.uptime", "1s", duration(Duration.ZERO, LONGEST),
            app -> app.restart().minUptime(), "a worker that exits before it has been online this long, or that never came online, is unstable; `0`: only one that never came online is");
    public static final Setting<AppConfig, Duration> RESTART_DELAY = Setting.app("restart.delay", "0ms", duration(Duration.ZERO, LONGEST),
            app -> app.restart().delay(), "a stable worker (online at least `min.uptime`) is restarted after this, always; `0`: at once");
    public static final Setting<AppConfig, Duration> RESTART_BACKOFF = Setting.app("restart.backoff", "100ms", duration(SHORTEST, LONGEST),
            app -> app.restart().backoff(), "an unstable exit waits this (or `restart.delay`, if longer) before its restart; each further "
                    + "unstable exit in a row waits ×1.5 longer, and a stable one resets that");
    public static final Setting<AppConfig, Duration> RESTART_DELAY_MAX = Setting.app("restart.delay.max", "15s",
            duration(Duration.ZERO, LONGEST), app -> app.restart().maxDelay(),
            "the longest the delay grows to over unstable exits in a row (at least `restart.delay` and `restart.backoff`)");
    public static final Setting<AppConfig, Long> MAX_MEMORY = Setting.app("max.memory", "0", size(1L << 40), AppConfig::maxMemoryBytes,
            "e.g. `512M`: a worker whose resident memory passes it is replaced, replacement first; `0` for no limit").shownAs("none");
    public static final Setting<AppConfig, Duration> MEMORY_CHECK_INTERVAL = Setting.app("memory.check.interval", "30s",
            duration(Duration.ofSeconds(1), LONGEST), AppConfig::memoryCheckInterval, "how often, roughly, workers' memory is checked");
    public static final Setting<AppConfig, HealthUrl> HEALTH_URL = Setting.app("health.url", null, healthUrl(),
            health(AppConfig.Health::url), "an HTTP health check: `/healthz`, or `http://host[:port]/healthz` to send that Host "
                    + "header (the check goes to the worker all the same). Each worker in rotation gets a GET, handed to it as "
                    + "a client's connection is; one that fails `health.failures` checks in a row is replaced, replacement first")
            .shownAs("off");
    public static final Setting<AppConfig, Duration> HEALTH_INTERVAL = Setting.app("health.interval", "10s",
            duration(Duration.ofMillis(100), LONGEST), health(AppConfig.Health::interval),
            "how often, roughly (jittered), each worker is checked; none in its first interval online");
    public static final Setting<AppConfig, Duration> HEALTH_TIMEOUT = Setting.app("health.timeout", "2s", duration(SHORTEST, LONGEST),
            health(AppConfig.Health::timeout), "a check without a status 200-399 within this failed (shorter than `health.interval`)");
    public static final Setting<AppConfig, Integer> HEALTH_FAILURES = Setting.app("health.failures", "3", wholeNumber(1, 100),
            health(AppConfig.Health::failures), "failed checks in a row that get a worker replaced; a check that passes starts the count again");
    public static final Setting<AppConfig, Dispatch> DISPATCH = Setting.app("dispatch", "handoff", choice(Dispatch.class),
            AppConfig::dispatch, "`handoff` (the master accepts and passes each socket to the SDK), `shared` (each worker's SDK accepts "
                    + "from the listening socket itself: no master work per connection; no `least-connections` or `queue.*`) or `proxy` "
                    + "(the master relays the bytes of an unmodified app); see [Choosing a dispatch](#choosing-a-dispatch)");
    public static final Setting<AppConfig, AppConfig.Proxy.Header> PROXY_PROTOCOL = Setting.app("proxy.protocol", "none",
            choice(AppConfig.Proxy.Header.class), proxy(AppConfig.Proxy::header),
            "proxy only: `v1` or `v2` sends the worker a PROXY protocol header with the client's address first");
    public static final Setting<AppConfig, Duration> PROXY_IDLE_TIMEOUT = Setting.app("proxy.idle.timeout", "5m",
            duration(SHORTEST, Duration.ofDays(1)), proxy(AppConfig.Proxy::idleTimeout),
            "proxy only: a relayed connection with no byte either way for this long is closed");
    /**
     * 1,024 connections by default: at most 64 MiB of relay buffers (2 × 32 KiB each, with both
     * ways stalled), a quarter of the master's shipped -XX:MaxDirectMemorySize=256m, so three
     * proxied apps at their limit still leave room for everything else that takes direct memory.
     */
    public static final Setting<AppConfig, Integer> PROXY_MAX_CONNECTIONS = Setting.app("proxy.max.connections", "1024",
            wholeNumber(1, 1_000_000), proxy(AppConfig.Proxy::maxConnections),
            "proxy only: the most connections the master holds for the app (relayed or waiting); one more is closed at once, unserved, "
                    + "and counted as `refused`. Each holds up to 64 KiB of the master's direct memory: raise `-XX:MaxDirectMemorySize` "
                    + "with it (see below)");
    public static final Setting<AppConfig, Boolean> PROXY_HTTP = Setting.app("proxy.http", "false", bool(), proxy(AppConfig.Proxy::http),
            "proxy only: follow HTTP/1.1 messages, so a draining worker's keep-alive connections close right after a complete "
                    + "response, which gets `Connection: close`, instead of being cut at `kill.timeout`. Connections it cannot follow "
                    + "(pipelining, Upgrade, bad HTTP) are relayed as plain bytes");

    // ---- the service again, after the apps, as the README tells them

    // One relay thread per core by default, as HAProxy runs: on 2 cores, 2 threads relayed
    // keep-alive traffic ~15% faster than 1 (bench/proxy.sh).
    public static final Setting<HerdConfig, Integer> PROXY_THREADS = Setting.service("herd.proxy.threads", null, wholeNumber(1, 64),
            HerdConfig::proxyThreads, "selector threads relaying the bytes of every proxied app").shownAs("one per core (at most 64)");

    /** Every setting, in the README's order. */
    public static final List<Setting<?, ?>> ALL = List.of(LOGS_DIR, LOG_FORMAT, STOP_TIMEOUT, DRAIN_DELAY, HEALTH_LISTEN, IPC_DIR, JMX_PORT, JMX_HOST, JMX_SSL, JMX_SSL_KEYSTORE,
            JMX_SSL_KEYSTORE_PASSWORD, JMX_SSL_KEYSTORE_PASSWORD_FILE, JOLOKIA_HOST, JOLOKIA_PORT, JOLOKIA_PASSWORD, JOLOKIA_PASSWORD_FILE,
            JOLOKIA_MONITOR_PASSWORD, JOLOKIA_MONITOR_PASSWORD_FILE, JOLOKIA_POLICY, JOLOKIA_SSL, JOLOKIA_SSL_KEYSTORE,
            JOLOKIA_SSL_KEYSTORE_PASSWORD, JOLOKIA_SSL_KEYSTORE_PASSWORD_FILE,
            LISTEN, AGENT_LISTEN, INSTANCES, SPARES, JAR, CLASSPATH, MAIN, JVM_OPTIONS, ARGS, AOT, ENV, WORKDIR, BALANCE, QUEUE_SIZE, QUEUE_TIMEOUT, READY_TIMEOUT,
            KILL_TIMEOUT, PING_TIMEOUT, MAX_INSTANCES, RELOAD_SURGE, MAX_RESTARTS, MIN_UPTIME, RESTART_DELAY,
            RESTART_BACKOFF, RESTART_DELAY_MAX, MAX_MEMORY, MEMORY_CHECK_INTERVAL, HEALTH_URL,
            HEALTH_INTERVAL, HEALTH_TIMEOUT, HEALTH_FAILURES, DISPATCH, PROXY_PROTOCOL, PROXY_IDLE_TIMEOUT, PROXY_MAX_CONNECTIONS,
            PROXY_HTTP, PROXY_THREADS);

    /** The service's settings, {@code herd.*}. */
    public static final List<Setting<HerdConfig, ?>> SERVICE = those(false);

    /** An app's settings, {@code app.<name>.*}, {@link #ENV} among them. */
    public static final List<Setting<AppConfig, ?>> APP = those(true);

    /** The settings of {@link #ALL} that are an app's ({@code perApp}) or the service's; C follows from which. */
    @SuppressWarnings("unchecked")
    private static <C> List<Setting<C, ?>> those(boolean perApp) {
        List<Setting<C, ?>> those = new ArrayList<>();
        for (Setting<?, ?> setting : ALL) {
            if (setting.perApp() == perApp) those.add((Setting<C, ?>) setting);
        }
        return List.copyOf(those);
    }

    /** The service setting named {@code key}, or null. */
    public static Setting<HerdConfig, ?> service(String key) {
        return SERVICE.stream().filter(setting -> setting.name().equals(key)).findFirst().orElse(null);
    }

    /** The app setting named {@code name} (the key after {@code app.<name>.}), or null; {@code env.*} is {@link #ENV}. */
    public static Setting<AppConfig, ?> app(String name) {
        if (name.startsWith("env.")) return ENV;
        return APP.stream().filter(setting -> setting.name().equals(name)).findFirst().orElse(null);
    }

    /**
     * The app setting that was called {@code name} before (the key after {@code app.<name>.}),
     * or null: {@code reload.parallelism} is {@link #RELOAD_SURGE}.
     */
    public static Setting<AppConfig, ?> renamedFrom(String name) {
        return APP.stream().filter(setting -> name.equals(setting.formerName())).findFirst().orElse(null);
    }

    /**
     * The README's table of keys, in Markdown: one row per setting, its default, and what it means.
     * README.md holds it between {@code <!-- settings:begin -->} and {@code <!-- settings:end -->}.
     */
    public static String markdownTable() {
        StringBuilder table = new StringBuilder("| key | default | values | meaning |\n|---|---|---|---|\n");
        for (Setting<?, ?> setting : ALL) {
            table.append("| `").append(setting.key()).append("` | ").append(setting.shownDefault()).append(" | ").append(setting.allowed()).append(" | ")
                    .append(setting.doc().replace("|", "\\|")).append(" |\n");
        }
        return table.toString();
    }

    private static <T> Function<HerdConfig, T> jmx(Function<HerdConfig.Jmx, T> value) {
        return config -> config.jmx() == null ? null : value.apply(config.jmx());
    }

    private static <T> Function<HerdConfig, T> jmxTls(Function<HerdConfig.Tls, T> value) {
        return config -> config.jmx() == null || config.jmx().ssl() == null ? null : value.apply(config.jmx().ssl());
    }

    private static <T> Function<HerdConfig, T> jolokia(Function<HerdConfig.Jolokia, T> value) {
        return config -> value.apply(config.jolokia());
    }

    private static <T> Function<HerdConfig, T> jolokiaTls(Function<HerdConfig.Tls, T> value) {
        return config -> config.jolokia().ssl() == null ? null : value.apply(config.jolokia().ssl());
    }

    /** A health check setting's value: none for an app without a check, which may not set it. */
    private static <T> Function<AppConfig, T> health(Function<AppConfig.Health, T> value) {
        return app -> app.health() == null ? null : value.apply(app.health());
    }

    /** A proxy setting's value: none for an app in handoff dispatch, which may not set it. */
    private static <T> Function<AppConfig, T> proxy(Function<AppConfig.Proxy, T> value) {
        return app -> app.proxied() ? value.apply(app.proxy()) : null;
    }
}
