package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.OperationResult;
import org.apache.commons.daemon.Daemon;
import org.apache.commons.daemon.DaemonContext;
import org.apache.commons.daemon.DaemonInitException;
import org.apache.commons.daemon.DaemonUserSignal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * herd as an Apache Commons Daemon, the contract jsvc starts services by; {@code herd run} drives
 * the same class in the foreground, so both behave alike.
 *
 * <ul>
 *   <li>{@link #init}: reads and checks the configuration (the first argument, else
 *       conf/herd.properties under herd's home), binds the listening sockets and reads the
 *       Jolokia password. Under jsvc -user this runs as that user already, but may still bind
 *       ports below 1024;</li>
 *   <li>{@link #start}: the master, the workers, JMX and Jolokia;</li>
 *   <li>{@link #stop}: stops accepting, drains the workers within herd.stop.timeout, stops all;</li>
 *   <li>{@link #signal} (SIGUSR2): a graceful reload of every app (systemd hears RELOADING=1,
 *       then READY=1, when it runs the service as Type=notify).</li>
 * </ul>
 * An Error in any thread of the service ends it with status {@value ExitOnFatalError#EXIT_CODE},
 * its workers stopped ({@link ExitOnFatalError}).
 */
public final class HerdDaemon implements Daemon, DaemonUserSignal {
    // No static logger: logging must not start before init() has told log4j where logs go.

    private HerdService service;

    @Override
    public void init(DaemonContext context) throws DaemonInitException {
        Path home = Path.of(System.getProperty("herd.home", ".")).toAbsolutePath().normalize();
        String[] arguments = context.getArguments() == null ? new String[0] : context.getArguments();
        Path file = arguments.length > 0 ? Path.of(arguments[0]).toAbsolutePath() : home.resolve("conf/herd.properties");
        if (!Files.isRegularFile(file)) throw new DaemonInitException("no configuration file " + file);
        HerdConfig config;
        try {
            config = HerdConfig.load(file, home);
        } catch (ConfigException e) {
            throw new DaemonInitException("the configuration cannot be used:\n" + e.getMessage());
        }
        // Before the first logger exists: log4j's configuration writes under this directory, and
        // picks its layouts by the format (read once: a later change takes a restart).
        System.setProperty("herd.logs.dir", config.logsDir().toString());
        System.setProperty("herd.log.format", HerdConfig.keyOf(config.logFormat()));
        System.Logger log = System.getLogger(HerdDaemon.class.getName());
        config.warnings().forEach(warning -> log.log(System.Logger.Level.WARNING, warning));
        // This JVM is the service's alone (under jsvc as under herd run): an Error in any of its
        // threads ends it, and its supervisor starts it afresh.
        ExitOnFatalError exitOnFatalError = new ExitOnFatalError(config);
        Thread.setDefaultUncaughtExceptionHandler(exitOnFatalError);
        HerdService created = new HerdService(config, exitOnFatalError);
        try {
            created.prepare();
        } catch (ConfigException e) {
            throw new DaemonInitException(e.getMessage());
        } catch (IOException e) {
            throw new DaemonInitException("cannot prepare the service: " + e.getMessage());
        }
        service = created;
    }

    @Override
    public void start() throws Exception {
        service.start();
    }

    @Override
    public void stop() throws Exception {
        if (service != null) service.stop();
    }

    @Override
    public void destroy() {
        service = null;
    }

    /** SIGUSR2: every app reloads gracefully, one after the other, off the signal's thread. */
    @Override
    public void signal() {
        HerdService running = service;
        if (running == null) return;
        System.Logger log = System.getLogger(HerdDaemon.class.getName());
        Thread.ofVirtual().name("herd-reload-on-signal").start(() -> {
            running.systemd().reloading();
            List<String> outcomes = new ArrayList<>();
            for (Cluster cluster : running.master().clusters()) {
                try {
                    OperationResult result = cluster.gracefulReload();
                    log.log(result.succeeded() ? Level.INFO : Level.WARNING, "on SIGUSR2: {0}", result);
                    outcomes.add(cluster.name() + " " + (result.succeeded() ? "reloaded" : "reload failed: " + result.message()));
                } catch (RuntimeException e) {
                    log.log(Level.WARNING, "on SIGUSR2: {0}: {1}", cluster.name(), e.getMessage());
                    outcomes.add(cluster.name() + " not reloaded: " + e.getMessage());
                }
            }
            running.systemd().reloaded(outcomes.isEmpty() ? "no app to reload" : String.join(", ", outcomes));
        });
    }

    HerdService service() {
        return service;
    }
}
