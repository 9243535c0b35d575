package io.herd.service.cli;

import org.jolokia.json.JSONWriter;

import io.herd.config.Setting;
import io.herd.config.Settings;
import io.herd.service.SecretFile;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code herd <verb>}: operates a running herd service through its Jolokia endpoint, PM2-style.
 *
 * <p>Exit codes: 0 done; 1 the operation failed; 2 bad usage; 3 the service is unreachable or
 * refused the credentials. Every failure is one clear line on stderr. The endpoint, user and
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
            """ + defaults();

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

    private Cli(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return new Cli(out, err).execute(args);
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
        String url = (setting(conf, Settings.JOLOKIA_SSL).equals("true") ? "https" : "http") + "://"
                + (host.contains(":") ? "[" + host + "]" : host) + ":" + setting(conf, Settings.JOLOKIA_PORT) + "/jolokia/";
        String user = OPERATOR;
        String password = null;
        Path passwordFile = null;
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
                case "--url", "--user", "--password-file" -> {
                    if (!hasValue) return usage(arg + " needs a value");
                    String value = args[++i];
                    if (arg.equals("--url")) url = value;
                    else if (arg.equals("--user")) user = value;
                    else passwordFile = Path.of(value);
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
            if (passwordFile == null) {
                // the user's own password, as the service's configuration gives it
                boolean monitor = user.equals(MONITOR);
                password = setting(conf, monitor ? Settings.JOLOKIA_MONITOR_PASSWORD : Settings.JOLOKIA_PASSWORD);
                passwordFile = home.resolve(setting(conf, monitor ? Settings.JOLOKIA_MONITOR_PASSWORD_FILE : Settings.JOLOKIA_PASSWORD_FILE));
            }
            if (password == null) password = readPassword(passwordFile);
            JolokiaClient jolokia = new JolokiaClient(endpoint, user, password);
            return switch (verb) {
                case "list" -> list(jolokia, json);
                case "stats" -> stats(jolokia, words.get(1), json);
                case "scale" -> scale(jolokia, words.get(1), words.get(2));
                case "reload" -> operate(jolokia, words.get(1), "reload");
                case "graceful-reload" -> operate(jolokia, words.get(1), "gracefulReload");
                case "monit" -> monit(jolokia, count, json);
                case "start" -> startJar
                        ? service(jolokia, "startJar", Path.of(words.get(1)).toAbsolutePath().toString(), appName, instances, port,
                                mainClass, appArgs)
                        : service(jolokia, "startApp", words.get(1));
                case "stop" -> service(jolokia, "stopApp", words.get(1));
                case "delete" -> service(jolokia, "deleteApp", words.get(1));
                case "save" -> service(jolokia, "save");
                default -> operate(jolokia, words.get(1), "restart");
            };
        } catch (JolokiaClient.Unreachable e) {
            err.println("herd: " + e.getMessage());
            return UNREACHABLE;
        } catch (JolokiaClient.Failed e) {
            boolean noSuchApp = e.getMessage().startsWith("javax.management.InstanceNotFoundException");
            err.println("herd: " + (noSuchApp && words.size() > 1 ? "no app '" + words.get(1) + "' in this service" : clean(e.getMessage())));
            return FAILED;
        }
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

    private static String readPassword(Path file) throws JolokiaClient.Unreachable {
        try {
            return SecretFile.read(file, "the password file");
        } catch (IOException e) {
            throw new JolokiaClient.Unreachable(e.getMessage() + " (the service writes it at first start; --password-file to use another)");
        }
    }

    /** "java.lang.IllegalArgumentException : scale -1: ..." → "scale -1: ...". */
    private static String clean(String error) {
        return error.replaceFirst("^[\\w.$]+(Exception|Error)\\s*:\\s*", "");
    }

    private static String mbean(String app) {
        return "herd:type=Cluster,name=" + app;
    }

    /** Every running app's Stats (a ClusterInfo), in the order Jolokia lists them. */
    private static List<Map<?, ?>> allStats(JolokiaClient jolokia) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        List<Map<?, ?>> apps = new ArrayList<>();
        for (String name : jolokia.search("herd:type=Cluster,*")) apps.add((Map<?, ?>) jolokia.read(name, "Stats"));
        return apps;
    }

    private int list(JolokiaClient jolokia, boolean json) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        List<Map<?, ?>> apps = allStats(jolokia);
        if (json) {
            out.println(toJson(apps));
            return DONE;
        }
        Table table = new Table("APP", "INSTANCES", "ONLINE", "SPARES", "OPEN", "ACCEPTED", "WAITING", "DROPPED", "REFUSED", "CPU", "MEMORY");
        for (Map<?, ?> app : apps) {
            table.row(app.get("app"), app.get("instances"), app.get("online"), app.get("spares"), app.get("open"), app.get("accepted"),
                    app.get("waiting"), app.get("dropped"), app.get("refused"), percent(app.get("cpuPercent")), mebibytes(app.get("rssBytes")));
        }
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
                out.println(toJson(apps)); // one line of JSON per refresh: every app's stats
            } else {
                Table table = new Table("APP", "INSTANCE", "PID", "STATE", "UPTIME", "RESTARTS", "CPU", "MEMORY", "OPEN", "HANDED");
                for (Map<?, ?> app : apps) {
                    for (Object row : (List<?>) app.get("workers")) {
                        Map<?, ?> worker = (Map<?, ?>) row;
                        table.row(app.get("app"), worker.get("instance"), worker.get("pid"), worker.get("state"), duration(worker.get("uptimeMillis")),
                                worker.get("restarts"), percent(worker.get("cpuPercent")), mebibytes(worker.get("rssBytes")),
                                worker.get("open"), worker.get("handedOff"));
                    }
                }
                if (i > 0) out.print("\033[H\033[2J"); // home and clear: a refreshing screen, like top
                out.println("herd monit — " + java.time.LocalTime.now().withNano(0) + " (Ctrl-C to quit)");
                table.print(out);
            }
            out.flush();
            if (i + 1 < count) sleepQuietly(2000);
        }
        return DONE;
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private int stats(JolokiaClient jolokia, String app, boolean json) throws JolokiaClient.Unreachable, JolokiaClient.Failed {
        Map<?, ?> stats = (Map<?, ?>) jolokia.read(mbean(app), "Stats");
        if (json) {
            out.println(toJson(stats));
            return DONE;
        }
        boolean proxied = "proxy".equals(stats.get("dispatch"));
        out.printf("%s: %s instances, %s online, %s spares, %s dispatch; connections: %s open, %s accepted, %s waiting, %s dropped%s%n", app,
                stats.get("instances"), stats.get("online"), stats.get("spares"), stats.get("dispatch"), stats.get("open"), stats.get("accepted"),
                stats.get("waiting"), stats.get("dropped"), proxied ? ", " + stats.get("refused") + " refused (proxy.max.connections)" : "");
        Table table = new Table("INSTANCE", "PID", "STATE", "UPTIME", "RESTARTS", "CPU", "MEMORY", proxied ? "RELAYED" : "HANDED", "OPEN",
                "IN", "OUT", "LAST EXIT");
        for (Object row : (List<?>) stats.get("workers")) {
            Map<?, ?> worker = (Map<?, ?>) row;
            table.row(worker.get("instance"), worker.get("pid"), worker.get("state"), duration(worker.get("uptimeMillis")),
                    worker.get("restarts"), percent(worker.get("cpuPercent")), mebibytes(worker.get("rssBytes")),
                    worker.get("handedOff"), worker.get("open"), proxied ? bytes(worker.get("bytesIn")) : "-",
                    proxied ? bytes(worker.get("bytesOut")) : "-", worker.get("lastExitCode") == null ? "-" : worker.get("lastExitCode"));
        }
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

    private static String toJson(Object value) {
        StringWriter writer = new StringWriter();
        try {
            JSONWriter.serialize(value, writer);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return writer.toString();
    }

    private static String percent(Object value) {
        return value instanceof Number number ? String.format(Locale.ROOT, "%.1f%%", number.doubleValue()) : "-";
    }

    private static String mebibytes(Object value) {
        return value instanceof Number number ? String.format(Locale.ROOT, "%.1f MiB", number.longValue() / 1048576.0) : "-";
    }

    /** 512 B, 3.4 KiB, 12.0 MiB, 1.5 GiB. */
    private static String bytes(Object value) {
        if (!(value instanceof Number number)) return "-";
        long bytes = number.longValue();
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double scaled = bytes / 1024.0;
        int unit = 0;
        while (scaled >= 1024 && unit < units.length - 1) {
            scaled /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", scaled, units[unit]);
    }

    private static String duration(Object millis) {
        if (!(millis instanceof Number number)) return "-";
        long seconds = number.longValue() / 1000;
        if (seconds < 60) return seconds + "s";
        if (seconds < 3600) return seconds / 60 + "m" + seconds % 60 + "s";
        return seconds / 3600 + "h" + seconds % 3600 / 60 + "m";
    }

    /** Columns padded to their widest cell. */
    private static final class Table {
        private final List<String[]> rows = new ArrayList<>();

        Table(String... header) {
            rows.add(header);
        }

        void row(Object... cells) {
            String[] text = new String[cells.length];
            for (int i = 0; i < cells.length; i++) text[i] = String.valueOf(cells[i]);
            rows.add(text);
        }

        void print(PrintStream out) {
            int[] widths = new int[rows.getFirst().length];
            for (String[] row : rows) for (int i = 0; i < row.length; i++) widths[i] = Math.max(widths[i], row[i].length());
            for (String[] row : rows) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < row.length; i++) {
                    line.append(row[i]);
                    if (i < row.length - 1) line.append(" ".repeat(widths[i] - row[i].length() + 2));
                }
                out.println(line.toString().stripTrailing());
            }
        }
    }
}
