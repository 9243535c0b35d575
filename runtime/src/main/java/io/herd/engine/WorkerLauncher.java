package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.ipc.IpcChannel;
import io.herd.ipc.JdkSockets;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts an app's worker JVMs: each one's IPC socket, in proxy dispatch the loopback port it is
 * to listen on, the command line (herd's JVM flags first, so no app needs to know them), the
 * environment (the service's, less what systemd gave the service alone; {@code HERD_APP},
 * {@code HERD_INSTANCE}, {@code HERD_IPC}; in proxy dispatch {@code PORT}, which also replaces
 * {@code {port}} in the JVM options and arguments), and where the output goes. With {@code aot = auto}, the AOT cache's flags come after the app's own
 * options ({@link WorkerAot} decides which, and looks at what became of the cache).
 */
final class WorkerLauncher {
    private static final System.Logger LOG = System.getLogger(WorkerLauncher.class.getName());

    private final AppConfig config;
    private final Master master;
    private final WorkerAot aot;
    /** Launches so far, so that each worker's IPC socket has a name of its own (event thread). */
    private int launches;
    /** What each live worker does with the AOT cache (event thread). */
    private final Map<Worker, WorkerAot.Run> aotRuns = new HashMap<>();

    WorkerLauncher(AppConfig config, Master master) {
        this.config = config;
        this.master = master;
        this.aot = new WorkerAot(config, master.aotCaches());
    }

    /**
     * Starts the JVM of a new worker of {@code cluster} for {@code instance}, with its IPC socket
     * and, in proxy dispatch, a free loopback port to listen on. Its IPC reader is not started yet.
     *
     * @throws IOException when no JVM could be started; its socket is closed again
     */
    Worker launch(Cluster cluster, int instance) throws IOException {
        // The service is halting: its fatal-error handler stops the workers it finds, and a restart
        // of one of them started now would be left running.
        if (master.fatalErrors().fatal()) throw new IOException("the service is exiting on a fatal error");
        Path socket = master.ipcDir().resolve(config.name() + "-" + instance + "-" + (++launches) + ".sock");
        IpcChannel.Listener listener = new IpcChannel.Listener(socket);
        WorkerAot.Run aotRun = aot.plan();
        try {
            InetSocketAddress proxyAddress = config.proxied() ? freeLoopbackAddress() : null;
            Process process = start(instance, socket, proxyAddress == null ? 0 : proxyAddress.getPort(), aotRun.flags);
            Worker worker = new Worker(cluster, instance, process, listener, proxyAddress);
            aotRuns.put(worker, aotRun);
            worker.trainsAotCache = aotRun.mode == WorkerAot.Mode.TRAIN;
            worker.online.thenRun(() -> aot.online(aotRun, process.pid()));
            return worker;
        } catch (IOException | RuntimeException e) {
            aot.launchFailed(aotRun);
            listener.close();
            throw e;
        }
    }

    /**
     * The worker's JVM exited (event thread); {@code asked} when herd had asked it to stop. An AOT
     * cache it trained is kept now, before the cluster reports the exit: a stopping service
     * keeps the cache its last workers wrote.
     */
    void exited(Worker worker, boolean asked) {
        WorkerAot.Run run = aotRuns.remove(worker);
        if (run != null) aot.exited(run, worker.pid(), worker.exitCode, asked);
    }

    /**
     * A loopback port free now, for a worker to listen on. Another process could take it before
     * the worker does; then the worker fails to start, and is restarted with another.
     */
    private static InetSocketAddress freeLoopbackAddress() throws IOException {
        try (ServerSocketChannel probe = ServerSocketChannel.open()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return (InetSocketAddress) probe.getLocalAddress();
        }
    }

    /**
     * Starts the JVM for {@code instance}, which is to connect to {@code ipcSocket}.
     *
     * @param port     the loopback port the app is to listen on (proxy dispatch), else 0
     * @param aotFlags the AOT cache's flags for this worker, if any
     */
    private Process start(int instance, Path ipcSocket, int port, List<String> aotFlags) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command(port, aotFlags)).directory(config.workDir().toFile());
        WorkerOutput output = master.workerOutput();
        if (output == null) {
            builder.redirectOutput(ProcessBuilder.Redirect.appendTo(master.logFile(config.name() + "-" + instance + "-out.log")))
                    .redirectError(ProcessBuilder.Redirect.appendTo(master.logFile(config.name() + "-" + instance + "-err.log")));
        }
        builder.environment().keySet().removeAll(SERVICE_ONLY_ENVIRONMENT);
        builder.environment().putAll(config.env());
        builder.environment().put("HERD_APP", config.name());
        builder.environment().put("HERD_INSTANCE", Integer.toString(instance));
        builder.environment().put("HERD_IPC", ipcSocket.toString());
        if (port != 0) builder.environment().put("PORT", Integer.toString(port));
        Process process = builder.start();
        if (output != null) {
            OutputPump.start(process.getInputStream(), output, config.name(), instance, process.pid(), "out", master.fatalErrors());
            OutputPump.start(process.getErrorStream(), output, config.name(), instance, process.pid(), "err", master.fatalErrors());
        }
        return process;
    }

    /**
     * What systemd hands the service's main process alone: its notification socket and watchdog
     * (sd_notify), and the listening sockets it passed (socket activation). A worker inheriting
     * them could tell systemd the service is ready or alive, or take the service's sockets for
     * its own; none does.
     */
    static final List<String> SERVICE_ONLY_ENVIRONMENT = List.of(
            "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES");

    /**
     * Workers start with SIGINT and SIGHUP ignored (coreutils' env, which then execs java, so the
     * pid stays the worker's): a Ctrl-C or a hang-up in the terminal running {@code herd run}
     * reaches the whole foreground process group, and must stop the workers through the master,
     * gracefully, not kill them all at once. (Not setsid: a session of its own also puts each
     * worker in a scheduler autogroup of its own, which starves the master under load.)
     */
    private static final List<String> IGNORE_TERMINAL_SIGNALS = probeIgnoreSignals();

    private static List<String> probeIgnoreSignals() {
        List<String> wrapper = List.of("/usr/bin/env", "--ignore-signal=INT", "--ignore-signal=HUP");
        try {
            List<String> probeCommand = new ArrayList<>(wrapper);
            probeCommand.add("true");
            Process probe = new ProcessBuilder(probeCommand).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0) return wrapper;
        } catch (IOException e) {
            // no such env: start workers directly
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.log(Level.WARNING, "this env(1) cannot start workers with SIGINT ignored: a Ctrl-C in the terminal will reach them directly");
        return List.of();
    }

    /**
     * The worker's command line; {@code {port}} stands for {@code port} in the app's options and
     * arguments. The AOT flags come last among the JVM's options, after the app's own.
     */
    List<String> command(int port, List<String> aotFlags) {
        List<String> command = new ArrayList<>();
        command.addAll(IGNORE_TERMINAL_SIGNALS);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JdkSockets.JVM_FLAGS);
        command.addAll(withPort(config.jvmOptions(), port));
        command.addAll(aotFlags);
        if (config.mainClass() != null) {
            List<String> classpath = new ArrayList<>();
            if (config.jar() != null) classpath.add(config.jar().toString());
            config.classpath().forEach(path -> classpath.add(path.toString()));
            command.add("-cp");
            command.add(String.join(java.io.File.pathSeparator, classpath));
            command.add(config.mainClass());
        } else {
            command.add("-jar");
            command.add(config.jar().toString());
        }
        command.addAll(withPort(config.args(), port));
        return command;
    }

    private static List<String> withPort(List<String> words, int port) {
        if (port == 0) return words;
        String value = Integer.toString(port);
        return words.stream().map(word -> word.replace("{port}", value)).toList();
    }

}
