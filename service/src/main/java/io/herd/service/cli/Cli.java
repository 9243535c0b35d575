package io.herd.service.cli;


import io.herd.config.Setting;
import io.herd.config.Settings;
import io.herd.service.SecretFile;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code herd <verb>}: operates a running herd service through its Jolokia endpoint, PM2-style.
 *
 * <p>Exit codes: 0 done; 1 the operation failed; 2 bad usage; 3 the service is unreachable or
 * refused the credentials. With {@code --hosts} or {@code --hosts-file} the verb runs over several
 * services ({@link Fleet}), and 0 means it succeeded on every one. Every failure is one clear line on stderr. The endpoint, user and
 * password file come from conf/herd.properties under herd's home, unless {@code --url},
 * {@code --user} or {@code --password-file} say otherwise.
 */
public final class Cli {
    static final int DONE = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int UNREACHABLE = 3;
    /** The service's users: the operator, and the monitor who may only look. */
    private static final String OPERATOR = "herd";
    private static final String MONITOR = "herd-monitor";

    private static final String USAGE_TEXT = """
            usage: herd <verb> [options]
              list                          every app: instances, online, connections, CPU, memory
              stats <app>                   one app and each of its workers
              scale <app> <n|+n|-n>         set the number of workers, or add/remove some
              reload <app>                  zero-downtime rolling reload (SIGTERM to old workers)
              graceful-reload <app>         rolling reload; old workers drain and exit by themselves
              restart <app>                 stop every worker, then start them all again
              logs <app> [--lines N] [--follow]   the last N lines (default 20) of each worker's output
              monit [--count N]             a live table of every worker, refreshed every 2 s (Ctrl-C ends)
                                            (--json: one line of JSON per refresh)
              start <jar> --port P [--name N] [-i N] [--main CLASS] [-- app args]
                                            add an app to the running service (0 instances: one per core)
              start <app> | stop <app>      start again / stop (gracefully) an app, keeping its settings
              delete <app>                  stop an app and forget it
              save                          write the running apps back to the configuration file
            options: --json (list, stats, logs, monit)  --url URL  --password-file FILE
                     --user herd|herd-monitor (herd-monitor may only look: list, stats, logs, monit)
            many hosts: --hosts h1:8778,h2:8778,...  or  --hosts-file FILE
                     FILE: one 'url [password-file]' a line (# comments, blank lines ignored; a password
                     file relative to FILE's directory); a bare host:port gets this service's scheme
                     and /jolokia/; without a password file, the one the CLI uses anyway.
                     list, stats, monit ask every host at once and print one table, HOST first
                     (--json: an array of {"host", "ok", "result" or "error"}); --host-timeout T
                     bounds each host (default %s). logs reads local files: run it on each host.
                     Other verbs run host by host, in order; reload, graceful-reload and restart wait
                     until the host's app is back at full capacity (online = instances, no operation
                     running), at most --ready-timeout T (default %s), before the next host; the
                     first host that fails stops the run. T: 30s, 5m, 1h.
            exit codes: 0 done (every host, with --hosts); 1 the operation failed (on a host);
                     2 bad usage; 3 the service (a host) is unreachable or refused the credentials.
            """.formatted(Fleet.HOST_TIMEOUT.toSeconds() + "s", Fleet.READY_TIMEOUT.toMinutes() + "m") + defaults();

    /** Where the CLI finds the service unless told otherwise, as the configuration's declarations give it. */
    private static String defaults() {
        return "without --url and --password-file: conf/herd.properties under herd's home, where unset\n  "
                + Settings.JOLOKIA_HOST.key() + " = " + Settings.JOLOKIA_HOST.defaultValue() + ", "
                + Settings.JOLOKIA_PORT.key() + " = " + Settings.JOLOKIA_PORT.defaultValue() + ", "
                + Settings.JOLOKIA_SSL.key() + " = " + Settings.JOLOKIA_SSL.defaultValue() + ",\n  "
                + Settings.JOLOKIA_PASSWORD_FILE.key() + " = " + Settings.JOLOKIA_PASSWORD_FILE.defaultValue() + ", "
                + Settings.JOLOKIA_MONITOR_PASSWORD_FILE.key() + " = " + Settings.JOLOKIA_MONITOR_PASSWORD_FILE.defaultValue();
    }

    private final PrintStream out;
    private final PrintStream err;
    /** What the CLI's messages start with after "herd: ": empty for one service, "host: " for one of several. */
    private final String where;

    Cli(PrintStream out, PrintStream err, String where) {
        this.out = out;
        this.err = err;
        this.where = where;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return new Cli(out, err, "").execute(args);
    }

    /** What a verb needs from the command line, once it is parsed and checked. */
    record Command(List<String> words, boolean json, int count, String appName, String mainClass, int instances, int port,
                   List<String> appArgs) {
        String verb() {
            return words.getFirst();
        }

        /** The app the verb names, or null for a verb that names none. */
        String app() {
            return words.size() > 1 && !startsJar() ? words.get(1) : null;
        }

        boolean startsJar() {
            return verb().equals("start") && words.get(1).endsWith(".jar");
        }
    }

    private int execute(String[] args) {
        List<String> words = new ArrayList<>();
        boolean json = false;
        boolean follow = false;
        int lines = 20;
        int count = Integer.MAX_VALUE;
        String appName = "";
        String mainClass = "";
        int instances = 1;
        int port = -1;
        List<String> appArgs = new ArrayList<>();
        Path home = Path.of(System.getProperty("herd.home", ".")).toAbsolutePath().normalize();
        Properties conf = conf(home);
        String host = setting(conf, Settings.JOLOKIA_HOST);
        boolean https = setting(conf, Settings.JOLOKIA_SSL).equals("true");
        String url = (https ? "https" : "http") + "://"
                + (host.contains(":") ? "[" + host + "]" : host) + ":" + setting(conf, Settings.JOLOKIA_PORT) + "/jolokia/";
        boolean urlGiven = false;
        String user = OPERATOR;
        String password = null;
        Path passwordFile = null;
        String hostsOption = null;
        Path hostsFile = null;
        Duration hostTimeout = null;
        Duration readyTimeout = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            boolean hasValue = i + 1 < args.length;
            if (arg.equals("--")) {
                appArgs.addAll(List.of(args).subList(i + 1, args.length));
                break;
            }
            switch (arg) {
                case "--json" -> json = true;
                case "--name", "--main" -> {
                    if (!hasValue) return usage(arg + " needs a value");
                    if (arg.equals("--name")) appName = args[++i];
                    else mainClass = args[++i];
                }
                case "-i", "--instances", "--port" -> {
                    if (!hasValue) return usage(arg + " needs a number");
                    try {
                        int number = Integer.parseInt(args[++i]);
                        if (arg.equals("--port")) port = number;
                        else instances = number;
                    } catch (NumberFormatException e) {
                        return usage(arg + " needs a number, not '" + args[i] + "'");
                    }
                }
                case "--follow", "-f" -> follow = true;
                case "--lines", "-n", "--count" -> {
                    if (!hasValue) return usage(arg + " needs a number");
                    try {
                        int number = Integer.parseInt(args[++i]);
                        if (number < (arg.equals("--count") ? 1 : 0)) return usage(arg + " must be positive");
                        if (arg.equals("--count")) count = number;
                        else lines = number;
                    } catch (NumberFormatException e) {
                        return usage(arg + " needs a number, not '" + args[i] + "'");
                    }
                }
                case "--url", "--user", "--password-file", "--hosts", "--hosts-file" -> {
                    if (!hasValue) return usage(arg + " needs a value");
                    String value = args[++i];
                    switch (arg) {
                        case "--url" -> {
                            url = value;
                            urlGiven = true;
                        }
                        case "--user" -> user = value;
                        case "--hosts" -> hostsOption = value;
                        case "--hosts-file" -> hostsFile = Path.of(value);
                        default -> passwordFile = Path.of(value);
                    }
                }
                case "--host-timeout", "--ready-timeout" -> {
                    if (!hasValue) return usage(arg + " needs a duration (such as 30s or 5m)");
                    Duration duration = timeout(args[++i]);
                    if (duration == null) return usage(arg + " needs a duration from 1s to 24h (such as 30s or 5m), not '" + args[i] + "'");
                    if (arg.equals("--host-timeout")) hostTimeout = duration;
                    else readyTimeout = duration;
                }
                case "-h", "--help" -> {
                    out.println(USAGE_TEXT);
                    return DONE;
                }
                default -> {
                    if (arg.startsWith("--")) return usage("unknown option " + arg);
                    words.add(arg);
                }
            }
        }
        if (words.isEmpty()) return usage("no verb");
        String verb = words.getFirst();
        int expected = switch (verb) {
            case "list", "monit", "save" -> 1;
            case "stats", "reload", "graceful-reload", "restart", "logs", "start", "stop", "delete" -> 2;
            case "scale" -> 3;
            default -> -1;
        };
        if (expected < 0) return usage("unknown verb '" + verb + "'");
        if (words.size() != expected) return usage("'" + verb + "' takes " + (expected - 1) + " argument" + (expected == 2 ? "" : "s"));
        if (json && !List.of("list", "stats", "logs", "monit").contains(verb)) return usage("--json is for the read verbs: list, stats, logs, monit");
        boolean startJar = verb.equals("start") && words.get(1).endsWith(".jar");
        if (startJar && port < 0) return usage("start <jar> needs --port P: the port the app is served on");
        if (verb.equals("scale") && !words.get(2).matches("[+-]?\\d{1,9}")) {
            return usage("'" + words.get(2) + "' is not a number of workers (n, +n or -n)");
        }
        Command command = new Command(List.copyOf(words), json, count, appName, mainClass, instances, port, List.copyOf(appArgs));
        boolean manyHosts = hostsOption != null || hostsFile != null;
        if (!manyHosts && (hostTimeout != null || readyTimeout != null)) return usage("--host-timeout and --ready-timeout are for --hosts or --hosts-file");
        if (manyHosts) {
            if (hostsOption != null && hostsFile != null) return usage("--hosts and --hosts-file: give one of them");
            if (urlGiven) return usage("--url names one service, --hosts and --hosts-file several: give one of them");
            if (verb.equals("logs")) return usage("logs reads this machine's log files, not a service's endpoint: run it on each host");
            List<HostList.Host> hosts;
            try {
                hosts = hostsOption != null ? HostList.fromOption(hostsOption, https) : HostList.fromFile(hostsFile, https);
            } catch (HostList.Invalid e) {
                return usage(e.getMessage());
            }
            List<Fleet.Target> targets = new ArrayList<>();
            String usualPassword = null;
            for (HostList.Host each : hosts) {
                // every password is read before any host is touched: a rolling reload never stops half-way for a missing file
                try {
                    if (each.passwordFile() != null) {
                        targets.add(new Fleet.Target(each, readPassword(each.passwordFile())));
                        continue;
                    }
                    if (usualPassword == null) usualPassword = usualPassword(conf, home, user, passwordFile);
                    targets.add(new Fleet.Target(each, usualPassword));
                } catch (JolokiaClient.Unreachable e) {
                    err.println("herd: " + each.name() + ": " + e.getMessage() + "; no host was touched");
                    return UNREACHABLE;
                }
            }
            return new Fleet(out, err, targets, user, hostTimeout == null ? Fleet.HOST_TIMEOUT : hostTimeout,
                    readyTimeout == null ? Fleet.READY_TIMEOUT : readyTimeout).run(command);
        }
        if (verb.equals("logs")) {
            return new Logs(out, err, home.resolve(setting(conf, Settings.LOGS_DIR)), words.get(1), json).show(lines, follow);
        }
        URI endpoint;
        try {
            endpoint = URI.create(url);
        } catch (IllegalArgumentException e) {
            return usage("not a URL: " + url);
        }
        try {
            password = usualPassword(conf, home, user, passwordFile);
        } catch (JolokiaClient.Unreachable e) {
            err.println("herd: " + e.getMessage());
            return UNREACHABLE;
        }
        return onService(new JolokiaClient(endpoint, user, password), command);
    }

    /** The password of {@code user}: from {@code passwordFile} when given, else as the service's configuration gives it. */
    private static String usualPassword(Properties conf, Path home, String user, Path passwordFile) throws JolokiaClient.Unreachable {
        if (passwordFile != null) return readPassword(passwordFile);
        boolean monitor = user.equals(MONITOR);
        String password = setting(conf, monitor ? Settings.JOLOKIA_MONITOR_PASSWORD : Settings.JOLOKIA_PASSWORD);
        return password != null ? password
                : readPassword(home.resolve(setting(conf, monitor ? Settings.JOLOKIA_MONITOR_PASSWORD_FILE : Settings.JOLOKIA_PASSWORD_FILE)));
    }

    /** Runs {@code command} against one service; the exit code says how it went, and a failure is one line on stderr. */
    int onService(JolokiaClient jolokia, Command command) {
        try {
            return verb(jolokia, command);
        } catch (JolokiaClient.Unreachable e) {
            err.println("herd: " + where + e.getMessage());
            return UNREACHABLE;
        } catch (JolokiaClient.Failed e) {
            err.println("herd: " + where + failure(e, command.app()));
            return FAILED;
        }
    }

    /** A failed request in a user's words: the app that is not there, or the service's message without its exception's name. */
    static String failure(JolokiaClient.Failed e, String app) {
        boolean noSuchApp = e.getMessage().startsWith("javax.management.InstanceNotFoundException");
        return noSuchApp && app != null ? "no app '" + app + "' in this service" : clean(e.getMessage());
    }

    private int verb(JolokiaClient jolokia, Command command) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        List<String> words = command.words();
        return switch (command.verb()) {
            case "list" -> list(jolokia, command.json());
            case "stats" -> stats(jolokia, words.get(1), command.json());
            case "scale" -> scale(jolokia, words.get(1), words.get(2));
            case "reload" -> operate(jolokia, words.get(1), "reload");
            case "graceful-reload" -> operate(jolokia, words.get(1), "gracefulReload");
            case "monit" -> monit(jolokia, command.count(), command.json());
            case "start" -> command.startsJar()
                    ? service(jolokia, "startJar", Path.of(words.get(1)).toAbsolutePath().toString(), command.appName(), command.instances(),
                            command.port(), command.mainClass(), command.appArgs())
                    : service(jolokia, "startApp", words.get(1));
            case "stop" -> service(jolokia, "stopApp", words.get(1));
            case "delete" -> service(jolokia, "deleteApp", words.get(1));
            case "save" -> service(jolokia, "save");
            default -> operate(jolokia, words.get(1), "restart");
        };
    }

    /** "30s", "5m", "1h" or a number of seconds, from 1 s to 24 h; null when it is none of those. */
    private static Duration timeout(String text) {
        java.util.regex.Matcher matcher = java.util.regex.Pattern.compile("(\\d{1,5})([smh]?)").matcher(text);
        if (!matcher.matches()) return null;
        long amount = Long.parseLong(matcher.group(1));
        Duration duration = switch (matcher.group(2)) {
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofSeconds(amount);
        };
        return duration.isZero() || duration.compareTo(Duration.ofHours(24)) > 0 ? null : duration;
    }

    private int usage(String problem) {
        err.println("herd: " + problem + "\n" + USAGE_TEXT);
        return USAGE;
    }

    private static Properties conf(Path home) {
        Properties properties = new Properties();
        Path file = home.resolve("conf/herd.properties");
        if (Files.isRegularFile(file)) {
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                properties.load(reader);
            } catch (IOException e) {
                // defaults, then
            }
        }
        properties.replaceAll((key, value) -> value.toString().trim());
        return properties;
    }

    /** The value {@code conf} gives {@code setting}, as written in the file: its default when unset, null when it has none. */
    private static String setting(Properties conf, Setting<?, ?> setting) {
        return conf.getProperty(setting.key(), setting.defaultValue());
    }

    static String readPassword(Path file) throws JolokiaClient.Unreachable {
        try {
            return SecretFile.read(file, "the password file");
        } catch (IOException e) {
            throw new JolokiaClient.Unreachable(e.getMessage() + " (the service writes it at first start; --password-file to use another)");
        }
    }

    /** "java.lang.IllegalArgumentException : scale -1: ..." → "scale -1: ...". */
    static String clean(String error) {
        return error.replaceFirst("^[\\w.$]+(Exception|Error)\\s*:\\s*", "");
    }

    static String mbean(String app) {
        return "herd:type=Cluster,name=" + app;
    }

    /** Every running app's Stats (a ClusterInfo), in the order Jolokia lists them. */
    static List<Map<?, ?>> allStats(JolokiaClient jolokia) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        List<Map<?, ?>> apps = new ArrayList<>();
        for (String name : jolokia.search("herd:type=Cluster,*")) apps.add((Map<?, ?>) jolokia.read(name, "Stats"));
        return apps;
    }

    private int list(JolokiaClient jolokia, boolean json) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        List<Map<?, ?>> apps = allStats(jolokia);
        if (json) {
            out.println(Columns.toJson(apps));
            return DONE;
        }
        Table table = new Table(Columns.LIST);
        for (Map<?, ?> app : apps) table.row(Columns.listRow(app));
        table.print(out);
        return DONE;
    }

    private int service(JolokiaClient jolokia, String operation, Object... arguments) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        Object result = jolokia.exec("herd:type=Service", operation, arguments);
        out.println(operation.equals("save") ? "saved the running apps to " + result : result);
        return DONE;
    }

    /** Every app's workers in one table, redrawn every 2 s, {@code count} times (Ctrl-C ends it sooner). */
    private int monit(JolokiaClient jolokia, int count, boolean json) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        for (int i = 0; i < count; i++) {
            List<Map<?, ?>> apps = allStats(jolokia);
            if (json) {
                out.println(Columns.toJson(apps)); // one line of JSON per refresh: every app's stats
            } else {
                Table table = new Table(Columns.MONIT);
                for (Map<?, ?> app : apps) for (Object[] row : Columns.monitRows(app)) table.row(row);
                monitScreen(out, i, table);
            }
            out.flush();
            if (i + 1 < count) sleepQuietly(2000);
        }
        return DONE;
    }

    /** One refresh of monit's screen: cleared (after the first), the time, the table. */
    static void monitScreen(PrintStream out, int refresh, Table table) {
        if (refresh > 0) out.print("\033[H\033[2J"); // home and clear: a refreshing screen, like top
        out.println("herd monit — " + java.time.LocalTime.now().withNano(0) + " (Ctrl-C to quit)");
        table.print(out);
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private int stats(JolokiaClient jolokia, String app, boolean json) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        Map<?, ?> stats = (Map<?, ?>) jolokia.read(mbean(app), "Stats");
        if (json) {
            out.println(Columns.toJson(stats));
            return DONE;
        }
        out.println(Columns.statsSummary(app, stats));
        Table table = new Table(Columns.stats(Columns.proxied(stats) ? "RELAYED" : "HANDED"));
        for (Object[] row : Columns.statsRows(stats)) table.row(row);
        table.print(out);
        return DONE;
    }

    private int scale(JolokiaClient jolokia, String app, String count) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        boolean relative = count.startsWith("+") || count.startsWith("-");
        int number;
        try {
            number = Integer.parseInt(count.startsWith("+") ? count.substring(1) : count);
        } catch (NumberFormatException e) {
            return usage("'" + count + "' is not a number of workers (n, +n or -n)");
        }
        return operate(jolokia, app, relative ? "scaleBy" : "scale", number);
    }

    /**
     * Runs an operation, and meanwhile prints each worker as it comes online or stops (polling the
     * app's workers), so a long reload shows its progress; then the outcome, worker by worker.
     */
    private int operate(JolokiaClient jolokia, String app, String operation, Object... arguments)
            throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        CompletableFuture<Object> result = CompletableFuture.supplyAsync(() -> {
            try {
                return jolokia.exec(mbean(app), operation, arguments);
            } catch (JolokiaClient.Unreachable | JolokiaClient.Failed e) {
                throw new CompletionException(e);
            }
        }, Thread::startVirtualThread);
        Map<Object, Object> seen = workerStates(jolokia, app);
        while (!result.isDone()) {
            sleepQuietly(200);
            Map<Object, Object> now = workerStates(jolokia, app);
            now.forEach((pid, state) -> {
                if (!state.equals(seen.get(pid)) && (state.equals("online") || state.equals("spare") || state.equals("stopping"))) out.println("  " + pid + " " + state);
            });
            seen.forEach((pid, state) -> {
                if (!now.containsKey(pid)) out.println("  " + pid + " stopped");
            });
            seen.clear();
            seen.putAll(now);
            out.flush();
        }
        try {
            return report(result.join());
        } catch (CompletionException e) {
            if (e.getCause() instanceof JolokiaClient.Failed failed) throw failed;
            if (e.getCause() instanceof JolokiaClient.Unreachable unreachable) throw unreachable;
            throw e;
        }
    }

    /** "#instance pid N" → state, for the app's live workers; empty when it cannot be read right now. */
    private static Map<Object, Object> workerStates(JolokiaClient jolokia, String app) {
        Map<Object, Object> states = new LinkedHashMap<>();
        try {
            for (Object row : (List<?>) jolokia.read(mbean(app), "Workers")) {
                Map<?, ?> worker = (Map<?, ?>) row;
                states.put("#" + worker.get("instance") + " pid " + worker.get("pid"), worker.get("state"));
            }
        } catch (JolokiaClient.Unreachable | JolokiaClient.Failed | RuntimeException e) {
            // progress is a courtesy: the operation's own answer says what happened
        }
        return states;
    }

    /** Prints an OperationResult worker by worker; FAILED unless every step succeeded. */
    private int report(Object value) {
        Map<?, ?> result = (Map<?, ?>) value;
        boolean succeeded = Boolean.TRUE.equals(result.get("succeeded"));
        // as OperationResult.summary() says it; a service from before durations sends none
        String took = result.get("durationMillis") instanceof Number millis
                ? (succeeded ? " in " + millis + " ms" : " (after " + millis + " ms)") : "";
        out.println(result.get("operation") + ": " + result.get("message") + took);
        for (Object row : (List<?>) result.get("workers")) {
            Map<?, ?> step = (Map<?, ?>) row;
            long oldPid = ((Number) step.get("oldPid")).longValue();
            long newPid = ((Number) step.get("newPid")).longValue();
            out.println("  #" + step.get("instance") + " " + (oldPid != 0 ? "pid " + oldPid : "") + (oldPid != 0 && newPid != 0 ? " -> " : "")
                    + (newPid != 0 ? "pid " + newPid : "") + ": " + step.get("outcome"));
        }
        if (succeeded) return DONE;
        err.println("herd: " + result.get("operation") + " failed: " + result.get("message"));
        return FAILED;
    }
}
