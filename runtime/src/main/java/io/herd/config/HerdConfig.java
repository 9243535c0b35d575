package io.herd.config;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A service's configuration: one properties file, service keys under {@code herd.}, and one
 * block of {@code app.<name>.} keys for each clustered app. Sealed once loaded.
 *
 * <p>Everything is checked before anything starts: an unknown key, a bad value or a missing jar
 * is reported with the key and the file, all problems at once. Each key, its default, its
 * bounds and how it is written back are declared once, in {@link Settings}.
 *
 * @param source      the file it was read from
 * @param home        where relative paths point from
 * @param ipcDir      where the private IPC directory is made; null for the system's temp directory
 * @param logsDir     where the workers' output goes
 * @param logFormat   how herd's log and the workers' output are written: lines for people, or JSON
 * @param stopTimeout how long a stopping service waits for its workers to finish
 * @param drainDelay  how long a stopping service (or app) reports {@code drain} to balancers and
 *                    goes on serving, unchanged, before it stops; zero for not at all
 * @param healthListen where the balancers' HTTP health endpoint listens; null for nowhere
 * @param jolokia     the Jolokia HTTP endpoint's settings
 * @param jmx         the JMX RMI connector's settings, or null when it is off (the default)
 * @param proxyThreads the selector threads relaying the bytes of apps in proxy dispatch
 * @param apps        the apps, by name
 * @param warnings    what in the file still loads but should change (a key under its former name),
 *                    one line each, for the service to log once its logging is set up: this class
 *                    logs nothing, as logging must not start before the service has said where
 *                    its log goes
 */
public record HerdConfig(Path source, Path home, Path ipcDir, Path logsDir, LogFormat logFormat, Duration stopTimeout, Duration drainDelay,
                         InetSocketAddress healthListen, Jolokia jolokia,
                         Jmx jmx, int proxyThreads, List<AppConfig> apps, List<String> warnings) {

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
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
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

    public HerdConfig {
        apps = List.copyOf(apps);
        warnings = List.copyOf(warnings);
    }

    /**
     * The configuration keys that describe {@code app}, every one, as {@link #parse} reads them:
     * what {@code save} writes back so a restart brings the same app up again. Each is written by
     * its {@link Settings declaration}; a key the app has no value for (no jar, say) is left out.
     */
    public static Map<String, String> keysOf(AppConfig app) {
        Map<String, String> keys = new LinkedHashMap<>();
        for (Setting<AppConfig, ?> setting : Settings.APP) {
            if (setting == Settings.ENV) {
                new TreeSet<>(app.env().keySet()).forEach(name -> keys.put(setting.key(app.name()).replace("<VAR>", name), app.env().get(name)));
                continue;
            }
            String value = setting.written(app);
            if (value != null) keys.put(setting.key(app.name()), value);
        }
        return keys;
    }

    /**
     * The service's keys, {@code herd.*}, as {@link #parse} reads them back to this
     * configuration; a key with no value (no JMX connector, say) is left out.
     */
    public Map<String, String> serviceKeys() {
        Map<String, String> keys = new LinkedHashMap<>();
        for (Setting<HerdConfig, ?> setting : Settings.SERVICE) {
            String value = setting.written(this);
            if (value != null) keys.put(setting.key(), value);
        }
        return keys;
    }

    /** A setting's value as the configuration writes it: {@code ROUND_ROBIN} is {@code round-robin}. */
    public static String keyOf(Enum<?> value) {
        return Format.nameOf(value);
    }

    public AppConfig app(String name) {
        return apps.stream().filter(app -> app.name().equals(name)).findFirst().orElse(null);
    }

    /** Reads and checks {@code file}; relative paths in it are taken from {@code home}. */
    public static HerdConfig load(Path file, Path home) throws ConfigException {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IOException | IllegalArgumentException e) {
            // IllegalArgumentException: a malformed \\uXXXX escape
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

    /**
     * Reads every value through its {@link Setting}, and checks what no single value can show
     * (a missing jar, two apps on one port). Each problem is said once, with the key and the file.
     */
    private static final class Parser {
        private final Map<String, String> values;
        private final Path source;
        private final Path home;
        private final List<String> problems = new ArrayList<>();
        private final List<String> warnings = new ArrayList<>();

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
                if (Settings.service(key) != null) continue;
                if (RETIRED_KEYS.containsKey(key)) {
                    problem(key, "no longer a setting: " + RETIRED_KEYS.get(key) + "; remove it");
                    continue;
                }
                Setting<AppConfig, ?> renamed = app.matches() && Settings.app(app.group(2)) == null ? Settings.renamedFrom(app.group(2)) : null;
                if (app.matches() && (Settings.app(app.group(2)) != null || renamed != null)) {
                    if (!APP_NAME.matcher(app.group(1)).matches()) {
                        problem(key, "the app name '" + app.group(1) + "' must be " + APP_NAME_RULE);
                        continue;
                    }
                    String name = renamed == null ? app.group(2) : readAsRenamed(key, renamed, app.group(1));
                    if (name != null) appKeys.computeIfAbsent(app.group(1), any -> new HashMap<>()).put(name, values.get(key));
                } else {
                    problem(key, "unknown key (service keys: " + String.join(", ", Settings.SERVICE.stream().map(Setting::key).toList())
                            + "; app keys: " + String.join(", ", Settings.APP.stream().map(Setting::key).toList()) + ")");
                }
            }
            Path ipcDir = value(Settings.IPC_DIR);
            Path logsDir = value(Settings.LOGS_DIR);
            LogFormat logFormat = value(Settings.LOG_FORMAT);
            Duration stopTimeout = value(Settings.STOP_TIMEOUT);
            Duration drainDelay = value(Settings.DRAIN_DELAY);
            InetSocketAddress healthListen = value(Settings.HEALTH_LISTEN);
            Jolokia jolokia = new Jolokia(value(Settings.JOLOKIA_HOST), nonNull(value(Settings.JOLOKIA_PORT), 0), value(Settings.JOLOKIA_PASSWORD),
                    value(Settings.JOLOKIA_PASSWORD_FILE), value(Settings.JOLOKIA_MONITOR_PASSWORD), value(Settings.JOLOKIA_MONITOR_PASSWORD_FILE),
                    value(Settings.JOLOKIA_POLICY), tls(Settings.JOLOKIA_SSL, Settings.JOLOKIA_SSL_KEYSTORE, Settings.JOLOKIA_SSL_KEYSTORE_PASSWORD,
                    Settings.JOLOKIA_SSL_KEYSTORE_PASSWORD_FILE, "the endpoint"));
            if (jolokia.password() != null && jolokia.password().equals(jolokia.monitorPassword())) {
                problem(Settings.JOLOKIA_MONITOR_PASSWORD.key(), "must differ from " + Settings.JOLOKIA_PASSWORD.key() + ": the monitor may only read");
            }
            if (jolokia.passwordFile() != null && jolokia.passwordFile().equals(jolokia.monitorPasswordFile())) {
                problem(Settings.JOLOKIA_MONITOR_PASSWORD_FILE.key(), "must differ from " + Settings.JOLOKIA_PASSWORD_FILE.key());
            }
            Jmx jmx = values.containsKey(Settings.JMX_PORT.key()) ? jmx() : null;
            Integer proxyThreads = value(Settings.PROXY_THREADS);
            if (proxyThreads == null && !values.containsKey(Settings.PROXY_THREADS.key())) {
                proxyThreads = Math.min(64, Runtime.getRuntime().availableProcessors());
            }
            List<AppConfig> apps = new ArrayList<>();
            for (var entry : appKeys.entrySet()) {
                AppConfig app = app(entry.getKey(), entry.getValue());
                if (app != null) apps.add(app);
            }
            if (apps.isEmpty() && problems.isEmpty()) problems.add(source + ": no app is configured (add app.<name>.listen and app.<name>.jar)");
            checkPortsDistinct(apps, healthListen);
            if (!problems.isEmpty()) throw new ConfigException(String.join("\n", problems));
            return new HerdConfig(source, home, ipcDir, logsDir, logFormat, stopTimeout, drainDelay, healthListen, jolokia, jmx, nonNull(proxyThreads, 0), apps, warnings);
        }

        /**
         * A service setting's value, its default when the key is absent; null when it has none,
         * or when the value does not read (a problem then says why).
         */
        private <T> T value(Setting<HerdConfig, T> setting) {
            return read(setting.key(), setting, values.get(setting.key()));
        }

        /** An app's setting's value, as {@link #value(Setting)}; {@code keys} are the app's, without {@code app.<name>.}. */
        private <T> T value(String app, Map<String, String> keys, Setting<AppConfig, T> setting) {
            return read(setting.key(app), setting, keys.get(setting.name()));
        }

        private <T> T read(String key, Setting<?, T> setting, String text) {
            if (text == null) text = setting.defaultValue();
            if (text == null) return null;
            try {
                return setting.read(text.trim(), home);
            } catch (IllegalArgumentException e) {
                problem(key, e.getMessage());
                return null;
            }
        }

        private Jmx jmx() {
            return new Jmx(value(Settings.JMX_HOST), nonNull(value(Settings.JMX_PORT), 0), tls(Settings.JMX_SSL, Settings.JMX_SSL_KEYSTORE,
                    Settings.JMX_SSL_KEYSTORE_PASSWORD, Settings.JMX_SSL_KEYSTORE_PASSWORD_FILE, "the connector"));
        }

        /**
         * TLS when {@code on} is true: then it must name a keystore and exactly one way to its
         * password. Null when it is false (the default); its other settings are then an error,
         * for {@code what} would look like TLS and leave passwords in the clear.
         */
        private Tls tls(Setting<HerdConfig, Boolean> on, Setting<HerdConfig, Path> keystore, Setting<HerdConfig, String> password,
                        Setting<HerdConfig, Path> passwordFile, String what) {
            if (!Boolean.TRUE.equals(value(on))) {
                values.keySet().stream().filter(other -> other.startsWith(on.key() + ".")).sorted().forEach(other ->
                        problem(other, "is set but " + on.key() + " is not true: " + what + " would not use TLS"));
                return null;
            }
            Tls tls = new Tls(on.key(), value(keystore), value(password), value(passwordFile));
            if (tls.keystore() == null) {
                if (!values.containsKey(keystore.key())) {
                    problem(keystore.key(), "missing: " + on.key() + " = true needs the server's key and certificate in a PKCS12 keystore");
                }
            } else if (!Files.isRegularFile(tls.keystore())) {
                problem(keystore.key(), "no such file: " + tls.keystore());
            }
            if (values.containsKey(password.key()) == values.containsKey(passwordFile.key())) {
                problem(password.key(), "set either it or " + passwordFile.key() + " (not both)");
            } else if (tls.keystorePasswordFile() != null && !Files.isRegularFile(tls.keystorePasswordFile())) {
                problem(passwordFile.key(), "no such file: " + tls.keystorePasswordFile());
            }
            return tls;
        }

        private AppConfig app(String name, Map<String, String> keys) {
            int problemsBefore = problems.size();
            List<InetSocketAddress> listen = value(name, keys, Settings.LISTEN);
            if (!keys.containsKey(Settings.LISTEN.name())) {
                problem(Settings.LISTEN.key(name), "missing: the address to accept on, e.g. 127.0.0.1:8080");
            }
            InetSocketAddress agentListen = value(name, keys, Settings.AGENT_LISTEN);
            Integer instances = value(name, keys, Settings.INSTANCES);
            if (instances != null && instances == 0) instances = Runtime.getRuntime().availableProcessors();
            Path jar = value(name, keys, Settings.JAR);
            if (jar != null) {
                if (!Files.isRegularFile(jar)) problem(Settings.JAR.key(name), "no such file: " + jar);
                else if (jar.toString().contains(File.pathSeparator)) {
                    problem(Settings.JAR.key(name), "a jar's path cannot hold '" + File.pathSeparator + "' (it separates class path entries)");
                }
            }
            List<Path> classpath = value(name, keys, Settings.CLASSPATH);
            if (classpath == null) classpath = List.of();
            for (Path entry : classpath) {
                if (!Files.exists(entry)) problem(Settings.CLASSPATH.key(name), "no such file or directory: " + entry);
            }
            String main = value(name, keys, Settings.MAIN);
            boolean hasJar = keys.containsKey(Settings.JAR.name());
            if (!hasJar && classpath.isEmpty()) {
                problem(Settings.JAR.key(name), "missing: set " + Settings.JAR.key(name) + ", or " + Settings.CLASSPATH.key(name)
                        + " and " + Settings.MAIN.key(name));
            } else if (!hasJar && !keys.containsKey(Settings.MAIN.name())) {
                problem(Settings.MAIN.key(name), "missing: a classpath needs a main class");
            }
            Map<String, String> env = new HashMap<>();
            keys.forEach((key, value) -> {
                if (Settings.app(key) != Settings.ENV) return;
                String variable = key.substring("env.".length());
                if (!ENV_NAME.matcher(variable).matches() || variable.startsWith("HERD_")) {
                    problem("app." + name + "." + key, "not a variable an app may set (HERD_* belongs to herd)");
                }
                env.put(variable, value);
            });
            Path workDir = value(name, keys, Settings.WORKDIR);
            if (workDir != null && !Files.isDirectory(workDir)) problem(Settings.WORKDIR.key(name), "no such directory: " + workDir);
            Balance balance = value(name, keys, Settings.BALANCE);
            Integer queueSize = value(name, keys, Settings.QUEUE_SIZE);
            Duration queueTimeout = value(name, keys, Settings.QUEUE_TIMEOUT);
            Duration readyTimeout = value(name, keys, Settings.READY_TIMEOUT);
            Duration killTimeout = value(name, keys, Settings.KILL_TIMEOUT);
            Duration pingTimeout = value(name, keys, Settings.PING_TIMEOUT);
            Integer maxInstances = value(name, keys, Settings.MAX_INSTANCES);
            if (maxInstances != null && instances != null) {
                // unset, it grows with instances: the default is a floor, not a cap on what instances asks
                if (!keys.containsKey(Settings.MAX_INSTANCES.name())) maxInstances = Math.max(maxInstances, instances);
                if (instances > maxInstances) {
                    problem(Settings.INSTANCES.key(name), instances + " is more than " + Settings.MAX_INSTANCES.key(name) + " (" + maxInstances + ")");
                }
            }
            ReloadSurge reloadSurge = value(name, keys, Settings.RELOAD_SURGE);
            Integer spares = value(name, keys, Settings.SPARES);
            AppConfig.Restart restart = new AppConfig.Restart(nonNull(value(name, keys, Settings.MAX_RESTARTS), 0),
                    value(name, keys, Settings.MIN_UPTIME), value(name, keys, Settings.RESTART_DELAY), value(name, keys, Settings.RESTART_BACKOFF),
                    value(name, keys, Settings.RESTART_DELAY_MAX));
            if (restart.delay() != null && restart.maxDelay() != null && restart.maxDelay().compareTo(restart.delay()) < 0) {
                problem(Settings.RESTART_DELAY_MAX.key(name), "is shorter than " + Settings.RESTART_DELAY.key(name));
            }
            if (restart.backoff() != null && restart.maxDelay() != null && restart.maxDelay().compareTo(restart.backoff()) < 0) {
                problem(Settings.RESTART_DELAY_MAX.key(name), "is shorter than " + Settings.RESTART_BACKOFF.key(name));
            }
            Long maxMemory = value(name, keys, Settings.MAX_MEMORY);
            Duration memoryCheck = value(name, keys, Settings.MEMORY_CHECK_INTERVAL);
            AppConfig.Health health = health(name, keys);
            Dispatch dispatch = value(name, keys, Settings.DISPATCH);
            if (dispatch == Dispatch.SHARED) checkShared(name, keys, balance);
            AppConfig.Proxy proxy = proxy(name, keys, dispatch);
            List<String> jvmOptions = value(name, keys, Settings.JVM_OPTIONS);
            List<String> args = value(name, keys, Settings.ARGS);
            Aot aot = value(name, keys, Settings.AOT);
            if (problems.size() > problemsBefore) return null;
            return new AppConfig(name, listen, agentListen, instances, spares, jar, classpath, main, orEmpty(jvmOptions), aot, orEmpty(args), env, workDir, balance,
                    queueSize, queueTimeout, readyTimeout, killTimeout, pingTimeout, maxInstances, reloadSurge, restart, maxMemory,
                    memoryCheck, health, dispatch, proxy);
        }

        /**
         * The HTTP health check, or null when {@code health.url} is unset or empty; then setting
         * its other keys is a mistake (they would check nothing).
         */
        private AppConfig.Health health(String name, Map<String, String> keys) {
            List<Setting<AppConfig, ?>> healthSettings = List.of(Settings.HEALTH_INTERVAL, Settings.HEALTH_TIMEOUT, Settings.HEALTH_FAILURES);
            String urlText = keys.get(Settings.HEALTH_URL.name());
            if (urlText == null || urlText.isBlank()) {
                for (Setting<AppConfig, ?> setting : healthSettings) {
                    if (keys.containsKey(setting.name())) problem(setting.key(name), "only means something with " + Settings.HEALTH_URL.key(name) + " set");
                }
                return null;
            }
            HealthUrl url = value(name, keys, Settings.HEALTH_URL);
            Duration interval = value(name, keys, Settings.HEALTH_INTERVAL);
            Duration timeout = value(name, keys, Settings.HEALTH_TIMEOUT);
            Integer failures = value(name, keys, Settings.HEALTH_FAILURES);
            if (interval != null && timeout != null && timeout.compareTo(interval) >= 0) {
                problem(Settings.HEALTH_TIMEOUT.key(name), "must be shorter than " + Settings.HEALTH_INTERVAL.key(name)
                        + " (" + keys.getOrDefault(Settings.HEALTH_INTERVAL.name(), Settings.HEALTH_INTERVAL.defaultValue()) + "): one check at a time per worker");
            }
            if (url == null || interval == null || timeout == null || failures == null) return null; // each problem is said
            return new AppConfig.Health(url, interval, timeout, failures);
        }

        /**
         * In shared dispatch the master never sees a client's connection: the kernel wakes one
         * idle worker for each, and its listen backlog is the queue. Asking for what needs the
         * master to place or hold connections is a mistake, said with its key.
         */
        private void checkShared(String name, Map<String, String> keys, Balance balance) {
            String shared = "not with " + Settings.DISPATCH.key(name) + " = shared, where the master sees no connection";
            if (balance == Balance.LEAST_CONNECTIONS && keys.containsKey(Settings.BALANCE.name())) {
                problem(Settings.BALANCE.key(name), "least-connections is " + shared + " (the kernel gives each to an idle worker)");
            }
            for (Setting<AppConfig, ?> setting : List.of(Settings.QUEUE_SIZE, Settings.QUEUE_TIMEOUT)) {
                if (keys.containsKey(setting.name())) {
                    problem(setting.key(name), shared + " (connections wait in the kernel's listen backlog instead)");
                }
            }
        }

        /** Proxy dispatch's settings; in handoff dispatch, setting any of them is a mistake, and the defaults stand unused. */
        private AppConfig.Proxy proxy(String name, Map<String, String> keys, Dispatch dispatch) {
            List<Setting<AppConfig, ?>> proxySettings = List.of(Settings.PROXY_PROTOCOL, Settings.PROXY_IDLE_TIMEOUT, Settings.PROXY_MAX_CONNECTIONS,
                    Settings.PROXY_HTTP);
            if (dispatch != Dispatch.PROXY) {
                for (Setting<AppConfig, ?> setting : proxySettings) {
                    if (keys.containsKey(setting.name())) {
                        problem(setting.key(name), "only means something with " + Settings.DISPATCH.key(name) + " = proxy");
                    }
                }
                return new AppConfig.Proxy(read(null, Settings.PROXY_PROTOCOL, null), read(null, Settings.PROXY_IDLE_TIMEOUT, null),
                        read(null, Settings.PROXY_MAX_CONNECTIONS, null), read(null, Settings.PROXY_HTTP, null));
            }
            return new AppConfig.Proxy(value(name, keys, Settings.PROXY_PROTOCOL), value(name, keys, Settings.PROXY_IDLE_TIMEOUT),
                    nonNull(value(name, keys, Settings.PROXY_MAX_CONNECTIONS), 0), Boolean.TRUE.equals(value(name, keys, Settings.PROXY_HTTP)));
        }

        /**
         * Two listening sockets on one address: two apps (or one app twice), an app and an agent
         * check, or either and the health endpoint. The second bind would fail anyway, later.
         * Port 0 (any free one) clashes with nothing.
         */
        private void checkPortsDistinct(List<AppConfig> apps, InetSocketAddress healthListen) {
            Map<InetSocketAddress, String> owners = new HashMap<>();
            if (healthListen != null && healthListen.getPort() != 0) owners.put(healthListen, Settings.HEALTH_LISTEN.key());
            for (AppConfig app : apps) {
                for (InetSocketAddress address : app.listen()) claim(owners, address, Settings.LISTEN.key(app.name()), "app '" + app.name() + "''s");
            }
            for (AppConfig app : apps) {
                if (app.agentListen() != null) {
                    claim(owners, app.agentListen(), Settings.AGENT_LISTEN.key(app.name()), "app '" + app.name() + "''s agent check");
                }
            }
        }

        /** {@code address} for {@code key}, or a problem naming who has it already. */
        private void claim(Map<InetSocketAddress, String> owners, InetSocketAddress address, String key, String owner) {
            if (address.getPort() == 0) return;
            String earlier = owners.putIfAbsent(address, owner);
            if (earlier != null) {
                problem(key, address.getAddress().getHostAddress() + ":" + address.getPort() + " is already "
                        + (earlier.startsWith("app ") ? earlier : earlier + "'s"));
            }
        }

        private static boolean hasControlCharacter(String text) {
            return text.chars().anyMatch(Character::isISOControl);
        }

        /**
         * A key under the name its setting had before: read as the setting's, with one {@link #warnings warning},
         * unless the file also sets the new name (then it is a problem: which one was meant?).
         *
         * @return the setting's name (after {@code app.<name>.}), or null when the key is not read
         */
        private String readAsRenamed(String key, Setting<AppConfig, ?> setting, String app) {
            if (values.containsKey(setting.key(app))) {
                problem(key, "the former name of " + setting.key(app) + ", which is set too: remove " + key);
                return null;
            }
            warnings.add(source + ": " + key + " is now " + setting.key(app) + ": read as such (herd save writes the new name)");
            return setting.name();
        }

        private void problem(String key, String what) {
            problems.add(source + ": " + key + ": " + what);
        }
    }

    /** {@code value}, or {@code otherwise} for a value that did not read (its problem is already said; nothing is built). */
    private static int nonNull(Integer value, int otherwise) {
        return value == null ? otherwise : value;
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    /** {@code text} with each control character shown as its code ({@code \\u000a}), so an error message stays one line. */
    public static String printable(String text) {
        StringBuilder shown = new StringBuilder();
        text.chars().forEach(c -> shown.append(Character.isISOControl(c) ? String.format("\\u%04x", c) : String.valueOf((char) c)));
        return shown.toString();
    }
}
