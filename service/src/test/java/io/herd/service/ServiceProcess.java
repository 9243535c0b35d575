package io.herd.service;

import io.herd.HerdWorker;
import io.herd.examples.hello.Hello;
import io.herd.examples.plain.Plain;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code herd run CONF} as a real child process of the test, the way {@code bin/herd run} starts
 * it, with the example hello app as its workers. Closing it kills it and every worker it left.
 */
final class ServiceProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("app (\\S+): \\d+ workers on 127\\.0\\.0\\.1:(\\d+)");

    final Process process;
    final Path home;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final List<ProcessHandle> seenWorkers = new CopyOnWriteArrayList<>();

    private ServiceProcess(Process process, Path home) {
        this.process = process;
        this.home = home;
        Thread.ofPlatform().daemon().start(() -> collect(process.inputReader(StandardCharsets.UTF_8)));
        Thread.ofPlatform().daemon().start(() -> collect(process.errorReader(StandardCharsets.UTF_8)));
    }

    /** A configuration for hello under a fresh home; {@code extra} is appended as is. */
    static Path helloConfig(Path home, int instances, String extra) throws IOException, URISyntaxException {
        String classpath = location(Hello.class) + java.io.File.pathSeparator + location(HerdWorker.class);
        return config(home, "hello", instances, classpath, Hello.class.getName(), extra);
    }

    /** A configuration for the plain example in proxy dispatch, on one relay thread, under a fresh home; {@code extra} is appended as is. */
    static Path plainConfig(Path home, int instances, String extra) throws IOException, URISyntaxException {
        return config(home, "plain", instances, location(Plain.class), Plain.class.getName(),
                "herd.proxy.threads = 1\napp.plain.dispatch = proxy\n" + extra);
    }

    /** A configuration for app {@code app}, whose workers run {@code main} (a test class on the SDK), under a fresh home; {@code extra} is appended as is. */
    static Path workerConfig(Path home, String app, int instances, Class<?> main, String extra) throws IOException, URISyntaxException {
        String classpath = location(main) + java.io.File.pathSeparator + location(HerdWorker.class);
        return config(home, app, instances, classpath, main.getName(), extra);
    }

    /** A configuration for the tests' WhoAmI worker (runtime's test apps) under a fresh home; {@code extra} is appended as is. */
    static Path whoAmIConfig(Path home, int instances, String extra) throws IOException, URISyntaxException {
        return workerConfig(home, "whoami", instances, io.herd.testapp.WhoAmI.class, extra);
    }

    private static Path config(Path home, String app, int instances, String classpath, String main, String extra) throws IOException {
        return Files.writeString(home.resolve("herd.properties"), """
                herd.logs.dir = %1$s
                herd.stop.timeout = 10s
                herd.jolokia.port = 0
                herd.jolokia.policy = %2$s
                app.%3$s.listen = 127.0.0.1:0
                app.%3$s.instances = %4$d
                app.%3$s.classpath = %5$s
                app.%3$s.main = %6$s
                app.%3$s.jvm.options = -XX:+UseSerialGC -Xmx32m -XX:TieredStopAtLevel=1
                %7$s
                """.formatted(home.resolve("logs"), HelloCluster.POLICY, app, instances, classpath, main, extra));
    }

    static ServiceProcess start(Path home, Path config) throws IOException {
        return start(home, config, false);
    }

    /**
     * @param asInATerminal run it as the leader of its own process group, like a shell's
     *                      foreground job, so a test can send the whole group a Ctrl-C
     */
    static ServiceProcess start(Path home, Path config, boolean asInATerminal, String... jvmOptions) throws IOException {
        return start(home, config, asInATerminal ? List.of("/usr/bin/setsid") : List.of(), jvmOptions);
    }

    /** The service with at most {@code descriptors} open files (prlimit: soft and hard limit). */
    static ServiceProcess startWithDescriptorLimit(Path home, Path config, int descriptors) throws IOException {
        return start(home, config, List.of("/usr/bin/prlimit", "--nofile=" + descriptors + ":" + descriptors, "--"));
    }

    /** The service with {@code environment} added to the test's own (systemd's variables, say). */
    static ServiceProcess startWithEnvironment(Path home, Path config, Map<String, String> environment) throws IOException {
        return start(home, config, List.of(), environment);
    }

    /** The service started by the command {@code prefix} runs with the service's command line as its arguments. */
    static ServiceProcess start(Path home, Path config, List<String> prefix, String... jvmOptions) throws IOException {
        return start(home, config, prefix, Map.of(), jvmOptions);
    }

    private static ServiceProcess start(Path home, Path config, List<String> prefix, Map<String, String> environment,
                                        String... jvmOptions) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
                "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC", "-Xmx128m", "-Dherd.home=" + home));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of(
                "-Dlog4j2.configurationFile=" + Path.of("..", "conf", "log4j2.xml").toAbsolutePath().normalize(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", config.toString()));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(environment);
        return new ServiceProcess(builder.start(), home);
    }

    private void collect(BufferedReader reader) {
        try (reader) {
            String line;
            while ((line = reader.readLine()) != null) output.add(line);
        } catch (IOException ended) {
            // the process is gone
        }
    }

    /** The port app {@code app} listens on, from the service's start-up line. */
    int port(String app) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (String line : output) {
                Matcher matcher = LISTENING.matcher(line);
                if (matcher.find() && matcher.group(1).equals(app)) return Integer.parseInt(matcher.group(2));
            }
            if (!process.isAlive()) break;
            Thread.sleep(20);
        }
        throw new AssertionError("the service never said it was listening:\n" + output());
    }

    /** The port app {@code app}'s agent check listens on, from the service's start-up line. */
    int agentPort(String app) throws InterruptedException {
        awaitOutput("app " + app + ": agent check on ", 1);
        Pattern agent = Pattern.compile("app " + Pattern.quote(app) + ": agent check on 127\\.0\\.0\\.1:(\\d+)");
        for (String line : output) {
            Matcher matcher = agent.matcher(line);
            if (matcher.find()) return Integer.parseInt(matcher.group(1));
        }
        throw new AssertionError("no agent check line for " + app + ":\n" + output());
    }

    /** The Jolokia URL the service printed when it started. */
    String jolokiaUrl() throws InterruptedException {
        awaitOutput("Jolokia on ", 1);
        String line = output.stream().filter(l -> l.contains("Jolokia on ")).findFirst().orElseThrow();
        Matcher url = Pattern.compile("Jolokia on (\\S+)").matcher(line);
        if (!url.find()) throw new AssertionError(line);
        return url.group(1);
    }

    /** Waits until the service has printed {@code text} at least {@code times} times. */
    void awaitOutput(String text, int times) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (output.stream().filter(line -> line.contains(text)).count() < times) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                throw new AssertionError("the service never printed '" + text + "' " + times + " times:\n" + output());
            }
            Thread.sleep(20);
        }
    }

    String output() {
        return String.join("\n", output);
    }

    /** What a terminal's Ctrl-C does: SIGINT to every process in the foreground process group. */
    void interruptProcessGroup() throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-INT", "--", "-" + process.pid()).inheritIO().start();
        if (kill.waitFor() != 0) throw new AssertionError("kill -INT -" + process.pid() + " failed");
    }

    /** The worker JVMs running now (children of the service). */
    List<ProcessHandle> workers() {
        List<ProcessHandle> workers = process.children().filter(ProcessHandle::isAlive).toList();
        seenWorkers.addAll(workers);
        return workers;
    }

    int waitFor(Duration limit) throws InterruptedException {
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) throw new AssertionError("the service did not exit:\n" + output());
        return process.exitValue();
    }

    /**
     * True when one of the workers holds the server side of the connection from local port
     * {@code clientPort}, and the master no longer does: the worker's app has accepted it.
     */
    boolean acceptedByAWorker(int clientPort) throws IOException {
        java.util.Set<String> inodes = new java.util.HashSet<>();
        List<String> table = Files.readAllLines(Path.of("/proc/net/tcp"));
        for (String line : table.subList(1, table.size())) {
            String[] fields = line.trim().split("\\s+");
            int remotePort = Integer.parseInt(fields[2].substring(fields[2].indexOf(':') + 1), 16);
            if (remotePort == clientPort) inodes.add("socket:[" + fields[9] + "]");
        }
        return !inodes.isEmpty() && !holdsAny(process.pid(), inodes)
                && workers().stream().anyMatch(worker -> holdsAny(worker.pid(), inodes));
    }

    private static boolean holdsAny(long pid, java.util.Set<String> inodes) {
        try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.anyMatch(fd -> {
                try {
                    return inodes.contains(Files.readSymbolicLink(fd).toString());
                } catch (IOException closedMeanwhile) {
                    return false;
                }
            });
        } catch (IOException gone) {
            return false;
        }
    }

    /** True while the process runs; a zombie (exited, not yet reaped by its new parent) counts as gone. */
    /**
     * The running processes started as this service's workers, whoever their parent is now: a
     * worker's environment names its master's IPC directory ({@code HERD_IPC=.../herd-<pid>-...}),
     * so one left behind by a master that is gone is found too.
     */
    List<Long> workersAnywhere() throws IOException {
        String mark = "HERD_IPC=";
        String masterDir = "/herd-" + process.pid() + "-";
        List<Long> found = new ArrayList<>();
        try (var processes = Files.list(Path.of("/proc"))) {
            for (Path proc : processes.filter(dir -> dir.getFileName().toString().matches("\\d+")).toList()) {
                String environ;
                try {
                    environ = Files.readString(proc.resolve("environ"), java.nio.charset.StandardCharsets.ISO_8859_1);
                } catch (IOException goneOrNotOurs) {
                    continue;
                }
                for (String variable : environ.split("\0")) {
                    if (variable.startsWith(mark) && variable.contains(masterDir) && running(Long.parseLong(proc.getFileName().toString()))) {
                        found.add(Long.parseLong(proc.getFileName().toString()));
                    }
                }
            }
        }
        return found;
    }

    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException noSuchProcess) {
            return false;
        }
    }

    private static String location(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    @Override
    public void close() throws InterruptedException {
        // Stopped (SIGSTOP) first, the master starts no worker between this look at its children
        // and its death: one started then would outlive it (an app without the SDK has no channel
        // to notice the master is gone).
        if (process.isAlive()) {
            try {
                new ProcessBuilder("kill", "-STOP", Long.toString(process.pid())).start().waitFor(10, TimeUnit.SECONDS);
            } catch (java.io.IOException e) {
                // no kill(1): the children seen now are still ended below
            }
        }
        workers();
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        for (ProcessHandle worker : seenWorkers) {
            worker.destroyForcibly();
        }
    }
}
