package io.herd.service.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A CLI verb over several herd services ({@code --hosts}, {@code --hosts-file}).
 *
 * <p>Read verbs (list, stats, monit) ask every host at once, one request at a time per host,
 * each host bounded by the host timeout, and print one table with a HOST column first; a host
 * that did not answer is a row saying why. Operations run host by host, in the order given; a
 * reload, graceful reload or restart waits until the host's app is back at full capacity (online
 * equals instances, and no operation running) before the next host is touched, and the first
 * host that fails stops the run, which says what was done and what was not.
 *
 * <p>The exit code is {@link Cli#DONE} only when every host succeeded; else {@link Cli#UNREACHABLE}
 * when a host could not be reached (or refused the credentials), and {@link Cli#FAILED} otherwise.
 */
final class Fleet {
    /** How long a read verb waits for one host, unless --host-timeout says otherwise. */
    static final Duration HOST_TIMEOUT = Duration.ofSeconds(10);
    /** How long an operation waits for one host's app to be back at full capacity, unless --ready-timeout says otherwise. */
    static final Duration READY_TIMEOUT = Duration.ofMinutes(2);
    private static final long POLL_MILLIS = 200;

    /** A host and the password the CLI's user has there. */
    record Target(HostList.Host host, String password) {
        String name() {
            return host.name();
        }
    }

    /** What one host answered to a read: its result, or why there is none and the exit code that stands for it. */
    private record Answer(String host, Object result, String error, int exit) {
        boolean ok() {
            return error == null;
        }
    }

    /** A read against one host's service. */
    private interface Read {
        Object from(JolokiaClient jolokia) throws JolokiaClient.Unreachable, JolokiaClient.Failed;
    }

    private final PrintStream out;
    private final PrintStream err;
    private final List<Target> targets;
    private final String user;
    private final Duration hostTimeout;
    private final Duration readyTimeout;

    Fleet(PrintStream out, PrintStream err, List<Target> targets, String user, Duration hostTimeout, Duration readyTimeout) {
        this.out = out;
        this.err = err;
        this.targets = List.copyOf(targets);
        this.user = user;
        this.hostTimeout = hostTimeout;
        this.readyTimeout = readyTimeout;
    }

    int run(Cli.Command command) {
        return switch (command.verb()) {
            case "list" -> list(command.json());
            case "stats" -> stats(command.app(), command.json());
            case "monit" -> monit(command.count(), command.json());
            default -> inTurn(command);
        };
    }

    private int list(boolean json) {
        List<Answer> answers = askAll(Cli::allStats);
        if (json) return printJson(answers);
        Table table = new Table(header(Columns.LIST));
        for (Answer answer : answers) {
            if (!answer.ok()) table.note(answer.host(), answer.error());
            else if (apps(answer).isEmpty()) table.note(answer.host(), "no apps");
            else for (Map<?, ?> app : apps(answer)) table.row(Columns.after(answer.host(), Columns.listRow(app)));
        }
        table.print(out);
        return outcome(answers);
    }

    private int stats(String app, boolean json) {
        List<Answer> answers = askAll(jolokia -> {
            try {
                return jolokia.read(Cli.mbean(app), "Stats");
            } catch (JolokiaClient.Failed e) {
                throw new JolokiaClient.Failed(Cli.failure(e, app));
            }
        });
        if (json) return printJson(answers);
        List<Map<?, ?>> answered = answers.stream().filter(Answer::ok).<Map<?, ?>>map(answer -> (Map<?, ?>) answer.result()).toList();
        long proxied = answered.stream().filter(Columns::proxied).count();
        String connections = proxied == 0 ? "HANDED" : proxied == answered.size() ? "RELAYED" : "HANDED/RELAYED";
        Table table = new Table(header(Columns.stats(connections)));
        for (Answer answer : answers) {
            if (!answer.ok()) {
                table.note(answer.host(), answer.error());
                continue;
            }
            Map<?, ?> stats = (Map<?, ?>) answer.result();
            out.println(answer.host() + ": " + Columns.statsSummary(app, stats));
            for (Object[] row : Columns.statsRows(stats)) table.row(Columns.after(answer.host(), row));
        }
        table.print(out);
        return outcome(answers);
    }

    /** monit's table, HOST first, every 2 s, {@code count} times; the exit code is the last refresh's. */
    private int monit(int count, boolean json) {
        int exit = Cli.DONE;
        for (int i = 0; i < count; i++) {
            List<Answer> answers = askAll(Cli::allStats);
            if (json) {
                exit = printJson(answers); // one line of JSON per refresh
            } else {
                Table table = new Table(header(Columns.MONIT));
                for (Answer answer : answers) {
                    if (!answer.ok()) table.note(answer.host(), answer.error());
                    else for (Map<?, ?> app : apps(answer)) for (Object[] row : Columns.monitRows(app)) table.row(Columns.after(answer.host(), row));
                }
                Cli.monitScreen(out, i, table);
                exit = outcome(answers);
            }
            out.flush();
            if (i + 1 < count) Cli.sleepQuietly(2000);
        }
        return exit;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<?, ?>> apps(Answer answer) {
        return (List<Map<?, ?>>) answer.result();
    }

    private static String[] header(String[] columns) {
        String[] header = new String[columns.length + 1];
        header[0] = "HOST";
        System.arraycopy(columns, 0, header, 1, columns.length);
        return header;
    }

    /**
     * Every host's answer to {@code read}, in the hosts' order: all asked at once, each on a
     * virtual thread of its own (so one request at a time per host), none waited for longer than
     * the host timeout.
     */
    private List<Answer> askAll(Read read) {
        List<CompletableFuture<Answer>> asked = new ArrayList<>();
        for (Target target : targets) {
            Answer timedOut = new Answer(target.name(), null, "timed out: no answer within " + hostTimeout.toSeconds() + " s (--host-timeout)", Cli.UNREACHABLE);
            asked.add(CompletableFuture.supplyAsync(() -> ask(target, read), Thread::startVirtualThread)
                    .completeOnTimeout(timedOut, hostTimeout.toMillis(), TimeUnit.MILLISECONDS));
        }
        return asked.stream().map(CompletableFuture::join).toList();
    }

    private Answer ask(Target target, Read read) {
        try {
            return new Answer(target.name(), read.from(client(target, hostTimeout)), null, Cli.DONE);
        } catch (JolokiaClient.Unreachable e) {
            return new Answer(target.name(), null, e.getMessage(), Cli.UNREACHABLE);
        } catch (JolokiaClient.Failed e) {
            return new Answer(target.name(), null, Cli.clean(e.getMessage()), Cli.FAILED);
        } catch (RuntimeException e) { // an answer not shaped like herd's: that host's failure, not the whole command's
            return new Answer(target.name(), null, "unexpected answer: " + e, Cli.FAILED);
        }
    }

    private JolokiaClient client(Target target, Duration longestWait) {
        return new JolokiaClient(target.host().url(), user, target.password(), longestWait);
    }

    /** The answers as a JSON array, one object per host: {"host", "ok": true, "result"} or {"host", "ok": false, "error"}. */
    private int printJson(List<Answer> answers) {
        List<Map<String, Object>> objects = new ArrayList<>();
        for (Answer answer : answers) {
            Map<String, Object> object = new LinkedHashMap<>();
            object.put("host", answer.host());
            object.put("ok", answer.ok());
            if (answer.ok()) object.put("result", answer.result());
            else object.put("error", answer.error());
            objects.add(object);
        }
        out.println(Columns.toJson(objects));
        return outcome(answers);
    }

    /** DONE when every host answered; else one line on stderr naming the hosts that did not. */
    private int outcome(List<Answer> answers) {
        List<Answer> failed = answers.stream().filter(answer -> !answer.ok()).toList();
        if (failed.isEmpty()) return Cli.DONE;
        err.println("herd: " + failed.size() + " of " + answers.size() + " hosts failed: "
                + String.join(", ", failed.stream().map(Answer::host).toList()));
        return failed.stream().anyMatch(answer -> answer.exit() == Cli.UNREACHABLE) ? Cli.UNREACHABLE : Cli.FAILED;
    }

    /**
     * Runs an operation on each host in turn, as {@code herd <verb>} does on one; a reload,
     * graceful reload or restart then waits for the host's app to be back at full capacity.
     * Stops at the first host that fails.
     */
    private int inTurn(Cli.Command command) {
        boolean awaitCapacity = List.of("reload", "graceful-reload", "restart").contains(command.verb());
        List<String> done = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            Target target = targets.get(i);
            out.println("== " + target.name() + ": " + String.join(" ", command.words()));
            out.flush();
            JolokiaClient jolokia = client(target, hostTimeout);
            int exit = new Cli(out, err, target.name() + ": ").onService(jolokia, command);
            if (exit == Cli.DONE && awaitCapacity) exit = awaitFullCapacity(target, jolokia, command.app());
            if (exit != Cli.DONE) {
                List<String> untouched = targets.subList(i + 1, targets.size()).stream().map(Target::name).toList();
                err.println("herd: " + command.verb() + " stopped at " + target.name() + ", which failed; done: "
                        + (done.isEmpty() ? "none" : String.join(", ", done)) + "; not touched: "
                        + (untouched.isEmpty() ? "none" : String.join(", ", untouched)));
                return exit;
            }
            done.add(target.name());
        }
        out.println(command.verb() + ": done on every host (" + String.join(", ", done) + ")");
        return Cli.DONE;
    }

    /**
     * Waits until {@code app} on the host has as many workers online as its instances and runs no
     * operation, at most the ready timeout. A host that does not answer meanwhile is asked again
     * until then: it may be busy, not gone.
     */
    private int awaitFullCapacity(Target target, JolokiaClient jolokia, String app) {
        long deadline = System.nanoTime() + readyTimeout.toNanos();
        String last = "not asked yet";
        while (true) {
            try {
                Map<?, ?> now = jolokia.read(Cli.mbean(app), List.of("Instances", "Online", "RunningOperation"));
                Object instances = now.get("Instances");
                Object online = now.get("Online");
                Object running = now.get("RunningOperation");
                boolean idle = running == null || running.toString().isEmpty();
                if (instances instanceof Number wanted && online instanceof Number serving && serving.intValue() == wanted.intValue() && idle) {
                    out.println(target.name() + ": " + app + " back at full capacity, " + serving + " of " + wanted + " online");
                    out.flush();
                    return Cli.DONE;
                }
                last = online + " of " + instances + " online" + (idle ? "" : ", '" + running + "' running");
            } catch (JolokiaClient.Unreachable e) {
                last = e.getMessage();
            } catch (JolokiaClient.Failed e) {
                err.println("herd: " + target.name() + ": " + Cli.failure(e, app));
                return Cli.FAILED;
            }
            if (System.nanoTime() > deadline) {
                err.println("herd: " + target.name() + ": " + app + " not back at full capacity within " + readyTimeout.toSeconds()
                        + " s (--ready-timeout): " + last);
                return Cli.FAILED;
            }
            Cli.sleepQuietly(POLL_MILLIS);
        }
    }
}
