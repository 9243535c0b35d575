package io.herd.config;

import java.io.IOException;
import java.io.Reader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's configuration: one properties file, service keys under {@code herd.}, and one
 * block of {@code app.<name>.} keys for each clustered app. Sealed once loaded.
 *
 * <p>Everything is checked before anything starts: an unknown key, a bad value or a missing jar
 * is reported with the key and the file, all problems at once.
 *
 * @param source      the file it was read from
 * @param home        where relative paths point from
 * @param ipcDir      where the private IPC directory is made; null for the system's temp directory
 * @param logsDir     where the workers' output goes
 * @param stopTimeout how long a stopping service waits for its workers to finish
 * @param jolokia     the Jolokia HTTP endpoint's settings
 * @param jmx         the JMX RMI connector's settings, or null when it is off (the default)
 * @param proxyThreads the selector threads relaying the bytes of apps in proxy dispatch
 * @param apps        the apps, by name
 */
public record HerdConfig(Path source, Path home, Path ipcDir, Path logsDir, Duration stopTimeout, Jolokia jolokia,
                         Jmx jmx, int proxyThreads, List<AppConfig> apps) {

    /**
     * The JMX RMI connector, for JConsole or VisualVM on another host: off unless a port is set.
     * Its users are Jolokia's: {@code herd} and {@code herd-monitor}, with the same passwords.
     *
     * @param host the address its registry and server listen on (loopback unless told otherwise)
     * @param port the one port both use
     * @param ssl  TLS for the registry and the server, or null for none (the default)
     */
    public record Jmx(String host, int port, Tls ssl) {
    }

    /**
     * TLS for a management endpoint ({@code herd.jmx.ssl = true}, {@code herd.jolokia.ssl = true}):
     * the server's key and certificate.
     *
     * @param key                  the setting that turned it on, which its own settings extend
     *                             ({@code herd.jmx.ssl}): what an error about them names
     * @param keystore             a PKCS12 keystore holding the server's private key and certificate
     * @param keystorePassword     its password; null to read it from {@code keystorePasswordFile}
     * @param keystorePasswordFile a file holding the password; null when {@code keystorePassword} is set
     */
    public record Tls(String key, Path keystore, String keystorePassword, Path keystorePasswordFile) {
    }

    /**
     * The Jolokia endpoint: always behind basic auth, with two users — {@code herd}, the operator,
     * and {@code herd-monitor}, who may only read. Their passwords serve the JMX connector too.
     *
     * @param host                the address it listens on (loopback unless told otherwise)
     * @param port                its port; 0 for any free one
     * @param password            the operator's password; null to use (or make, at first start) {@code passwordFile}
     * @param passwordFile        where the operator's generated password is kept, readable by the service's user only
     * @param monitorPassword     the monitor's password; null to use (or make) {@code monitorPasswordFile}
     * @param monitorPasswordFile where the monitor's generated password is kept
     * @param policy              the access policy (conf/jolokia-access.xml); a missing file denies everything
     * @param ssl                 HTTPS instead of HTTP, or null for none (the default)
     */
    public record Jolokia(String host, int port, String password, Path passwordFile, String monitorPassword,
                          Path monitorPasswordFile, Path policy, Tls ssl) {
    }

    private static final Pattern APP_KEY = Pattern.compile("app\\.([^.]+)\\.(.+)");
    /** An app's name: it becomes part of keys, file names and MBean names, so nothing that could change their meaning. */
    private static final Pattern APP_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");
    /** A Java class name, as the {@code java} launcher takes it: dotted identifiers. */
    private static final Pattern CLASS_NAME = Pattern.compile("(\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*\\.)*"
            + "\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMG]?)B?", Pattern.CASE_INSENSITIVE);
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Set<String> SERVICE_KEYS = Set.of("herd.ipc.dir", "herd.logs.dir", "herd.stop.timeout",
            "herd.jolokia.host", "herd.jolokia.port", "herd.jolokia.password", "herd.jolokia.password.file",
            "herd.jolokia.monitor.password", "herd.jolokia.monitor.password.file", "herd.jolokia.policy",
            "herd.jolokia.ssl", "herd.jolokia.ssl.keystore", "herd.jolokia.ssl.keystore.password", "herd.jolokia.ssl.keystore.password.file",
            "herd.jmx.host", "herd.jmx.port", "herd.jmx.ssl", "herd.jmx.ssl.keystore", "herd.jmx.ssl.keystore.password",
            "herd.jmx.ssl.keystore.password.file", "herd.proxy.threads");
    private static final Set<String> APP_KEYS = Set.of("listen", "instances", "jar", "classpath", "main",
            "jvm.options", "args", "workdir", "balance", "queue.size", "queue.timeout", "ready.timeout", "kill.timeout", "ping.timeout",
            "max.instances", "reload.parallelism", "max.restarts", "min.uptime", "restart.delay", "restart.delay.max",
            "max.memory", "memory.check.interval", "dispatch", "proxy.protocol", "proxy.idle.timeout", "proxy.max.connections");
    /** What {@link #APP_NAME} allows, for error messages. */
    public static final String APP_NAME_RULE = "lower-case letters, digits and '-', starting with a letter or digit (at most 40)";

    /** True when {@code name} may name an app. */
    public static boolean isAppName(String name) {
        return name != null && APP_NAME.matcher(name).matches();
    }

    /** Keys that were settings once, and why they are not any more: named in the error, rather than "unknown". */
    private static final Map<String, String> RETIRED_KEYS = Map.of(
            "herd.jolokia.user", "the users are fixed: herd (the operator) and herd-monitor (who may only read)",
            "herd.jolokia.threads", "requests are served on virtual threads, and open connections are bounded",
            "herd.jmx.password.file", "the JMX connector's users are Jolokia's, herd and herd-monitor, with the same passwords",
            "herd.jmx.access.file", "over JMX as over Jolokia, herd may do everything and herd-monitor may only read");
    /** An upper bound that catches typos such as {@code instances = 10000}. */
    public static final int MAX_INSTANCES = 256;
    /** An upper bound for {@code proxy.max.connections} that catches typos: two descriptors each. */
    public static final int MAX_PROXY_CONNECTIONS = 1_000_000;
    /** {@code max.instances} unless configured (or unless {@code instances} is higher). */
    public static final int DEFAULT_MAX_INSTANCES = 32;

    public HerdConfig {
        apps = List.copyOf(apps);
    }

    /**
     * The configuration keys that describe {@code app}, every one, as {@link #parse} reads them:
     * what {@code save} writes back so a restart brings the same app up again.
     */
    public static Map<String, String> keysOf(AppConfig app) {
        Map<String, String> keys = new LinkedHashMap<>();
        String prefix = "app." + app.name() + ".";
        keys.put(prefix + "listen", String.join(", ", app.listen().stream().map(address -> {
            String host = address.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
        }).toList()));
        keys.put(prefix + "instances", Integer.toString(app.instances()));
        if (app.jar() != null) keys.put(prefix + "jar", app.jar().toString());
        if (!app.classpath().isEmpty()) {
            keys.put(prefix + "classpath", String.join(java.io.File.pathSeparator, app.classpath().stream().map(Path::toString).toList()));
        }
        if (app.mainClass() != null) keys.put(prefix + "main", app.mainClass());
        if (!app.jvmOptions().isEmpty()) keys.put(prefix + "jvm.options", Words.join(app.jvmOptions()));
        if (!app.args().isEmpty()) keys.put(prefix + "args", Words.join(app.args()));
        new TreeSet<>(app.env().keySet()).forEach(name -> keys.put(prefix + "env." + name, app.env().get(name)));
        keys.put(prefix + "workdir", app.workDir().toString());
        keys.put(prefix + "balance", keyOf(app.balance()));
        keys.put(prefix + "queue.size", Integer.toString(app.queueSize()));
        keys.put(prefix + "queue.timeout", app.queueTimeout().toMillis() + "ms");
        keys.put(prefix + "ready.timeout", app.readyTimeout().toMillis() + "ms");
        keys.put(prefix + "kill.timeout", app.killTimeout().toMillis() + "ms");
        keys.put(prefix + "ping.timeout", app.pingTimeout().toMillis() + "ms");
        keys.put(prefix + "max.instances", Integer.toString(app.maxInstances()));
        keys.put(prefix + "reload.parallelism", Integer.toString(app.reloadParallelism()));
        keys.put(prefix + "max.restarts", Integer.toString(app.restart().maxRestarts()));
        keys.put(prefix + "min.uptime", app.restart().minUptime().toMillis() + "ms");
        keys.put(prefix + "restart.delay", app.restart().delay().toMillis() + "ms");
        keys.put(prefix + "restart.delay.max", app.restart().maxDelay().toMillis() + "ms");
        if (app.maxMemoryBytes() > 0) keys.put(prefix + "max.memory", Long.toString(app.maxMemoryBytes()));
        keys.put(prefix + "memory.check.interval", app.memoryCheckInterval().toMillis() + "ms");
        keys.put(prefix + "dispatch", keyOf(app.dispatch()));
        if (app.proxied()) {
            keys.put(prefix + "proxy.protocol", keyOf(app.proxy().header()));
            keys.put(prefix + "proxy.idle.timeout", app.proxy().idleTimeout().toMillis() + "ms");
            keys.put(prefix + "proxy.max.connections", Integer.toString(app.proxy().maxConnections()));
        }
        return keys;
    }

    /** A setting's value as the configuration writes it: {@code ROUND_ROBIN} is {@code round-robin}. */
    public static String keyOf(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The constant of {@code type} written {@code value}, or null. */
    private static <E extends Enum<E>> E choice(Class<E> type, String value) {
        for (E constant : type.getEnumConstants()) {
            if (keyOf(constant).equals(value)) return constant;
        }
        return null;
    }

    public AppConfig app(String name) {
        return apps.stream().filter(app -> app.name().equals(name)).findFirst().orElse(null);
    }

    /** Reads and checks {@code file}; relative paths in it are taken from {@code home}. */
    public static HerdConfig load(Path file, Path home) throws ConfigException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IOException e) {
            throw new ConfigException("cannot read the configuration " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> values = new HashMap<>();
        for (String key : properties.stringPropertyNames()) values.put(key, properties.getProperty(key).trim());
        return parse(values, file.toAbsolutePath(), home.toAbsolutePath());
    }

    /** Checks configuration values that did not come from a file (tests, the service MBean). */
    public static HerdConfig parse(Map<String, String> values, Path source, Path home) throws ConfigException {
        return new Parser(values, source, home).parse();
    }

    private static final class Parser {
        private final Map<String, String> values;
        private final Path source;
        private final Path home;
        private final List<String> problems = new ArrayList<>();

        Parser(Map<String, String> values, Path source, Path home) {
            this.values = values;
            this.source = source;
            this.home = home;
        }

        HerdConfig parse() throws ConfigException {
            Map<String, Map<String, String>> appKeys = new LinkedHashMap<>();
            for (String key : new TreeSet<>(values.keySet())) {
                if (hasControlCharacter(key) || hasControlCharacter(values.get(key))) {
                    problem(printable(key), "holds a control character (a line break, say): no value may");
                    continue;
                }
                Matcher app = APP_KEY.matcher(key);
                if (SERVICE_KEYS.contains(key)) continue;
                if (RETIRED_KEYS.containsKey(key)) {
                    problem(key, "no longer a setting: " + RETIRED_KEYS.get(key) + "; remove it");
                    continue;
                }
                if (app.matches() && (APP_KEYS.contains(app.group(2)) || app.group(2).startsWith("env."))) {
                    if (!APP_NAME.matcher(app.group(1)).matches()) {
                        problem(key, "the app name '" + app.group(1) + "' must be " + APP_NAME_RULE);
                        continue;
                    }
                    appKeys.computeIfAbsent(app.group(1), name -> new HashMap<>()).put(app.group(2), values.get(key));
                } else {
                    problem(key, "unknown key (service keys: " + String.join(", ", new TreeSet<>(SERVICE_KEYS))
                            + "; app keys: app.<name>." + String.join(", app.<name>.", new TreeSet<>(APP_KEYS)) + ", app.<name>.env.<VAR>)");
                }
            }
            Path ipcDir = values.containsKey("herd.ipc.dir") ? path("herd.ipc.dir", values.get("herd.ipc.dir")) : null;
            Path logsDir = path("herd.logs.dir", values.getOrDefault("herd.logs.dir", "logs"));
            Duration stopTimeout = duration("herd.stop.timeout", values.getOrDefault("herd.stop.timeout", "10s"));
            Jolokia jolokia = new Jolokia(values.getOrDefault("herd.jolokia.host", "127.0.0.1"),
                    integer("herd.jolokia.port", values.getOrDefault("herd.jolokia.port", "8778"), 0, 65535),
                    password("herd.jolokia.password"),
                    path("herd.jolokia.password.file", values.getOrDefault("herd.jolokia.password.file", "var/jolokia.password")),
                    password("herd.jolokia.monitor.password"),
                    path("herd.jolokia.monitor.password.file",
                            values.getOrDefault("herd.jolokia.monitor.password.file", "var/jolokia-monitor.password")),
                    path("herd.jolokia.policy", values.getOrDefault("herd.jolokia.policy", "conf/jolokia-access.xml")),
                    tls("herd.jolokia.ssl", "the endpoint"));
            if (jolokia.password() != null && jolokia.password().equals(jolokia.monitorPassword())) {
                problem("herd.jolokia.monitor.password", "must differ from herd.jolokia.password: the monitor may only read");
            }
            if (jolokia.passwordFile().equals(jolokia.monitorPasswordFile())) {
                problem("herd.jolokia.monitor.password.file", "must differ from herd.jolokia.password.file");
            }
            Jmx jmx = values.containsKey("herd.jmx.port") ? jmx() : null;
            // One relay thread per core by default, as HAProxy runs: on 2 cores, 2 threads relayed
            // keep-alive traffic ~15% faster than 1 (bench/proxy.sh).
            int proxyThreads = integer("herd.proxy.threads", values.getOrDefault("herd.proxy.threads",
                    Integer.toString(Math.min(64, Runtime.getRuntime().availableProcessors()))), 1, 64);
            List<AppConfig> apps = new ArrayList<>();
            for (var entry : appKeys.entrySet()) {
                AppConfig app = app(entry.getKey(), entry.getValue());
                if (app != null) apps.add(app);
            }
            if (apps.isEmpty() && problems.isEmpty()) problems.add(source + ": no app is configured (add app.<name>.listen and app.<name>.jar)");
            checkPortsDistinct(apps);
            if (!problems.isEmpty()) throw new ConfigException(String.join("\n", problems));
            return new HerdConfig(source, home, ipcDir, logsDir, stopTimeout, jolokia, jmx, proxyThreads, apps);
        }

        private Jmx jmx() {
            int port = integer("herd.jmx.port", values.get("herd.jmx.port"), 1, 65535);
            return new Jmx(values.getOrDefault("herd.jmx.host", "127.0.0.1"), port, tls("herd.jmx.ssl", "the connector"));
        }

        /**
         * TLS when {@code key} is true: then it must name a keystore and exactly one way to its
         * password. Null when it is false (the default); its other settings are then an error,
         * for {@code what} would look like TLS and leave passwords in the clear.
         */
        private Tls tls(String key, String what) {
            String on = values.getOrDefault(key, "false");
            if (!on.equals("true") && !on.equals("false")) problem(key, "'" + on + "' is neither true nor false");
            if (!on.equals("true")) {
                values.keySet().stream().filter(other -> other.startsWith(key + ".")).sorted().forEach(other ->
                        problem(other, "is set but " + key + " is not true: " + what + " would not use TLS"));
                return null;
            }
            String keystore = values.get(key + ".keystore");
            String password = values.get(key + ".keystore.password");
            String passwordFile = values.get(key + ".keystore.password.file");
            Tls tls = new Tls(key, keystore == null ? null : path(key + ".keystore", keystore), password,
                    passwordFile == null ? null : path(key + ".keystore.password.file", passwordFile));
            if (tls.keystore() == null) {
                problem(key + ".keystore", "missing: " + key + " = true needs the server's key and certificate in a PKCS12 keystore");
            } else if (!Files.isRegularFile(tls.keystore())) {
                problem(key + ".keystore", "no such file: " + tls.keystore());
            }
            if ((password == null) == (passwordFile == null)) {
                problem(key + ".keystore.password", "set either it or " + key + ".keystore.password.file (not both)");
            } else if (tls.keystorePasswordFile() != null && !Files.isRegularFile(tls.keystorePasswordFile())) {
                problem(key + ".keystore.password.file", "no such file: " + tls.keystorePasswordFile());
            }
            return tls;
        }

        private AppConfig app(String name, Map<String, String> keys) {
            String prefix = "app." + name + ".";
            int problemsBefore = problems.size();
            List<InetSocketAddress> listen = listen(prefix + "listen", keys.get("listen"));
            int instances = integer(prefix + "instances", keys.getOrDefault("instances", "1"), 0, MAX_INSTANCES);
            if (instances == 0) instances = Runtime.getRuntime().availableProcessors();
            Path jar = null;
            if (keys.containsKey("jar")) {
                jar = path(prefix + "jar", keys.get("jar"));
                if (!Files.isRegularFile(jar)) problem(prefix + "jar", "no such file: " + jar);
                else if (jar.toString().contains(java.io.File.pathSeparator)) {
                    problem(prefix + "jar", "a jar's path cannot hold '" + java.io.File.pathSeparator + "' (it separates class path entries)");
                }
            }
            List<Path> classpath = new ArrayList<>();
            if (keys.containsKey("classpath")) {
                for (String entry : keys.get("classpath").split(java.io.File.pathSeparator)) {
                    if (entry.isBlank()) continue;
                    Path path = path(prefix + "classpath", entry.trim());
                    if (!Files.exists(path)) problem(prefix + "classpath", "no such file or directory: " + path);
                    classpath.add(path);
                }
            }
            String main = keys.get("main");
            if (main != null && !CLASS_NAME.matcher(main).matches()) {
                problem(prefix + "main", "'" + main + "' is not a Java class name (such as com.example.Main)");
            }
            if (jar == null && classpath.isEmpty() && !keys.containsKey("jar")) {
                problem(prefix + "jar", "missing: set " + prefix + "jar, or " + prefix + "classpath and " + prefix + "main");
            } else if (jar == null && main == null && !keys.containsKey("jar")) {
                problem(prefix + "main", "missing: a classpath needs a main class");
            }
            Map<String, String> env = new HashMap<>();
            keys.forEach((key, value) -> {
                if (!key.startsWith("env.")) return;
                String variable = key.substring(4);
                if (!ENV_NAME.matcher(variable).matches() || variable.startsWith("HERD_")) {
                    problem(prefix + key, "not a variable an app may set (HERD_* belongs to herd)");
                }
                env.put(variable, value);
            });
            Path workDir = path(prefix + "workdir", keys.getOrDefault("workdir", "."));
            if (!Files.isDirectory(workDir)) problem(prefix + "workdir", "no such directory: " + workDir);
            Balance balance = choice(Balance.class, keys.getOrDefault("balance", "round-robin"));
            if (balance == null) problem(prefix + "balance", "'" + keys.get("balance") + "' is not round-robin or least-connections");
            int queueSize = integer(prefix + "queue.size", keys.getOrDefault("queue.size", "1024"), 0, 1_000_000);
            Duration queueTimeout = duration(prefix + "queue.timeout", keys.getOrDefault("queue.timeout", "10s"));
            Duration readyTimeout = duration(prefix + "ready.timeout", keys.getOrDefault("ready.timeout", "30s"));
            Duration killTimeout = duration(prefix + "kill.timeout", keys.getOrDefault("kill.timeout", "5s"));
            int problemsSoFar = problems.size();
            Duration pingTimeout = duration(prefix + "ping.timeout", keys.getOrDefault("ping.timeout", "10s"));
            if (problems.size() == problemsSoFar && pingTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
                problem(prefix + "ping.timeout", "must be at least 1s (a worker is pinged every ~2 s)");
            }
            int maxInstances = integer(prefix + "max.instances", keys.getOrDefault("max.instances",
                    Integer.toString(Math.max(DEFAULT_MAX_INSTANCES, instances))), 1, MAX_INSTANCES);
            if (maxInstances > 0 && instances > maxInstances) {
                problem(prefix + "instances", instances + " is more than " + prefix + "max.instances (" + maxInstances + ")");
            }
            int reloadParallelism = integer(prefix + "reload.parallelism", keys.getOrDefault("reload.parallelism", "1"), 1, MAX_INSTANCES);
            AppConfig.Restart pm2 = AppConfig.Restart.PM2_DEFAULTS;
            AppConfig.Restart restart = new AppConfig.Restart(
                    integer(prefix + "max.restarts", keys.getOrDefault("max.restarts", Integer.toString(pm2.maxRestarts())), 0, 1_000_000),
                    duration(prefix + "min.uptime", keys.getOrDefault("min.uptime", pm2.minUptime().toMillis() + "ms")),
                    duration(prefix + "restart.delay", keys.getOrDefault("restart.delay", pm2.delay().toMillis() + "ms")),
                    duration(prefix + "restart.delay.max", keys.getOrDefault("restart.delay.max", pm2.maxDelay().toMillis() + "ms")));
            if (restart.maxDelay().compareTo(restart.delay()) < 0) {
                problem(prefix + "restart.delay.max", "is shorter than " + prefix + "restart.delay");
            }
            long maxMemory = keys.containsKey("max.memory") ? size(prefix + "max.memory", keys.get("max.memory")) : 0;
            Duration memoryCheck = duration(prefix + "memory.check.interval", keys.getOrDefault("memory.check.interval", "30s"));
            if (memoryCheck.isZero()) problem(prefix + "memory.check.interval", "must be longer than 0");
            Dispatch dispatch = choice(Dispatch.class, keys.getOrDefault("dispatch", "handoff"));
            if (dispatch == null) problem(prefix + "dispatch", "'" + keys.get("dispatch") + "' is not handoff or proxy");
            AppConfig.Proxy proxy = proxy(prefix, keys, dispatch);
            List<String> jvmOptions = words(prefix + "jvm.options", keys.get("jvm.options"));
            List<String> args = words(prefix + "args", keys.get("args"));
            if (problems.size() > problemsBefore) return null;
            return new AppConfig(name, listen, instances, jar, classpath, main, jvmOptions, args, env, workDir, balance, queueSize,
                    queueTimeout, readyTimeout, killTimeout, pingTimeout, maxInstances, reloadParallelism, restart, maxMemory, memoryCheck,
                    dispatch, proxy);
        }

        private AppConfig.Proxy proxy(String prefix, Map<String, String> keys, Dispatch dispatch) {
            AppConfig.Proxy defaults = AppConfig.Proxy.DEFAULTS;
            if (dispatch != Dispatch.PROXY) {
                for (String key : List.of("proxy.protocol", "proxy.idle.timeout", "proxy.max.connections")) {
                    if (keys.containsKey(key)) problem(prefix + key, "only means something with " + prefix + "dispatch = proxy");
                }
                return defaults;
            }
            AppConfig.Proxy.Header header = choice(AppConfig.Proxy.Header.class, keys.getOrDefault("proxy.protocol", keyOf(defaults.header())));
            if (header == null) problem(prefix + "proxy.protocol", "'" + keys.get("proxy.protocol") + "' is not none, v1 or v2");
            Duration idle = duration(prefix + "proxy.idle.timeout", keys.getOrDefault("proxy.idle.timeout", defaults.idleTimeout().toMillis() + "ms"));
            if (idle.isZero()) problem(prefix + "proxy.idle.timeout", "must be longer than 0");
            int maxConnections = integer(prefix + "proxy.max.connections",
                    keys.getOrDefault("proxy.max.connections", Integer.toString(defaults.maxConnections())), 1, MAX_PROXY_CONNECTIONS);
            return new AppConfig.Proxy(header, idle, maxConnections);
        }

        private List<InetSocketAddress> listen(String key, String value) {
            List<InetSocketAddress> addresses = new ArrayList<>();
            if (value == null || value.isBlank()) {
                problem(key, "missing: the address to accept on, e.g. 127.0.0.1:8080");
                return addresses;
            }
            for (String part : value.split(",")) {
                part = part.trim();
                int colon = part.lastIndexOf(':');
                if (colon < 0) {
                    problem(key, "'" + part + "' is not host:port");
                    continue;
                }
                String host = part.substring(0, colon).replace("[", "").replace("]", "");
                int port = integer(key, part.substring(colon + 1), 0, 65535);
                if (port < 0) continue;
                try {
                    addresses.add(new InetSocketAddress(host.isEmpty() ? InetAddress.getByName("0.0.0.0") : InetAddress.getByName(host), port));
                } catch (UnknownHostException e) {
                    problem(key, "unknown host '" + host + "'");
                }
            }
            return addresses;
        }

        /** Two apps (or one app twice) on the same address: the second bind would fail anyway, later. */
        private void checkPortsDistinct(List<AppConfig> apps) {
            Map<InetSocketAddress, String> owners = new HashMap<>();
            for (AppConfig app : apps) {
                for (InetSocketAddress address : app.listen()) {
                    if (address.getPort() == 0) continue;
                    String owner = owners.putIfAbsent(address, app.name());
                    if (owner != null) {
                        problem("app." + app.name() + ".listen", address.getAddress().getHostAddress() + ":" + address.getPort()
                                + " is already app '" + owner + "''s");
                    }
                }
            }
        }

        private int integer(String key, String value, int min, int max) {
            try {
                int number = Integer.parseInt(value.trim());
                if (number >= min && number <= max) return number;
            } catch (NumberFormatException ignored) {
                // reported below
            }
            problem(key, "'" + value + "' is not a whole number from " + min + " to " + max);
            return -1;
        }

        private Duration duration(String key, String value) {
            Matcher matcher = DURATION.matcher(value.trim());
            if (!matcher.matches()) {
                problem(key, "'" + value + "' is not a duration such as 500ms, 10s, 2m or 1h");
                return Duration.ZERO;
            }
            long amount = Long.parseLong(matcher.group(1));
            String unit = matcher.group(2) == null ? "ms" : matcher.group(2);
            return switch (unit) {
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofMillis(amount);
            };
        }

        private long size(String key, String value) {
            Matcher matcher = SIZE.matcher(value.trim());
            if (!matcher.matches()) {
                problem(key, "'" + value + "' is not a size such as 512M, 1G or 800K");
                return 0;
            }
            long amount = Long.parseLong(matcher.group(1));
            return switch (matcher.group(2).toUpperCase(java.util.Locale.ROOT)) {
                case "K" -> amount << 10;
                case "M" -> amount << 20;
                case "G" -> amount << 30;
                default -> amount;
            };
        }

        private Path path(String key, String value) {
            if (value.isBlank()) problem(key, "is empty");
            Path path = Path.of(value.trim());
            return (path.isAbsolute() ? path : home.resolve(path)).normalize();
        }

        /** A configured password, or null when the key is absent (one is then generated). */
        private String password(String key) {
            String password = values.get(key);
            if (password != null && password.length() < 8) problem(key, "is shorter than 8 characters");
            return password;
        }

        private List<String> words(String key, String value) {
            try {
                return Words.split(value);
            } catch (IllegalArgumentException e) {
                problem(key, e.getMessage() + ": words are separated by spaces; a word with spaces is written in double quotes");
                return List.of();
            }
        }

        private static boolean hasControlCharacter(String text) {
            return text.chars().anyMatch(Character::isISOControl);
        }

        private void problem(String key, String what) {
            problems.add(source + ": " + key + ": " + what);
        }
    }

    /** {@code text} with each control character shown as its code ({@code \\u000a}), so an error message stays one line. */
    public static String printable(String text) {
        StringBuilder shown = new StringBuilder();
        text.chars().forEach(c -> shown.append(Character.isISOControl(c) ? String.format("\\u%04x", c) : String.valueOf((char) c)));
        return shown.toString();
    }
}
