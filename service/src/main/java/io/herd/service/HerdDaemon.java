package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.ClusterBusyException;
import io.herd.engine.OperationResult;
import org.apache.commons.daemon.Daemon;
import org.apache.commons.daemon.DaemonContext;
import org.apache.commons.daemon.DaemonInitException;
import org.apache.commons.daemon.DaemonUserSignal;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 *   <li>{@link #stop}: after herd.drain.delay (balancers hear drain, everything serves on),
 *       stops accepting, drains the workers within herd.stop.timeout, stops all;</li>
 *   <li>{@link #signal} (SIGUSR2): a graceful reload of every app (systemd hears RELOADING=1,
 *       then READY=1, when it runs the service as Type=notify); one asked for during the start
 *       runs once it is over, and an app busy with another operation is reloaded once that ends.</li>
 * </ul>
 * An Error in any thread of the service ends it with status {@value ExitOnFatalError#EXIT_CODE},
 * its workers stopped ({@link ExitOnFatalError}).
 */
public final class HerdDaemon implements Daemon, DaemonUserSignal {
    // No static logger: logging must not start before init() has told log4j where logs go.

    /** How often a reload asked for by SIGUSR2 tries again while an app is busy with another operation. */
    private static final long BUSY_RETRY_MILLIS = 250;

    private HerdService service;
    /** The service has started (and not begun to stop): a SIGUSR2 reloads now. Under this object's lock. */
    private boolean started;
    /** A SIGUSR2 came during the start: every app reloads once it is over. Under this object's lock. */
    private boolean reloadAskedDuringStart;

    public HerdDaemon() {
    }

    /** A daemon for {@code prepared}, a service whose init is done (tests). */
    HerdDaemon(HerdService prepared) {
        this.service = prepared;
    }

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
        boolean reloadAsked;
        synchronized (this) {
            started = true;
            reloadAsked = reloadAskedDuringStart;
            reloadAskedDuringStart = false;
        }
        if (reloadAsked) {
            System.getLogger(HerdDaemon.class.getName()).log(Level.INFO, "a SIGUSR2 came during the start: every app reloads now");
            reloadInBackground(service);
        }
    }

    @Override
    public void stop() throws Exception {
        synchronized (this) {
            started = false;
        }
        if (service != null) service.stop();
    }

    @Override
    public void destroy() {
        service = null;
    }

    /**
     * SIGUSR2: every app reloads gracefully, one after the other, off the signal's thread. During
     * the start (herd run handles the signal from before it) the reload waits for the start to be
     * over: a deploy script sent it for a reason, and the apps are not running yet.
     */
    @Override
    public void signal() {
        HerdService running = service;
        if (running == null) return;
        synchronized (this) {
            if (!started) {
                reloadAskedDuringStart = true;
                System.getLogger(HerdDaemon.class.getName()).log(Level.INFO, "SIGUSR2 during the start: every app reloads once the start is over");
                return;
            }
        }
        reloadInBackground(running);
    }

    private static void reloadInBackground(HerdService running) {
        System.Logger log = System.getLogger(HerdDaemon.class.getName());
        Thread.ofVirtual().name("herd-reload-on-signal").start(() -> {
            running.systemd().reloading();
            Duration patience = longestReplacement(running);
            List<String> outcomes = new ArrayList<>();
            for (Cluster cluster : running.master().clusters()) {
                try {
                    OperationResult result = reloadWhenFree(cluster, patience, log);
                    log.log(result.succeeded() ? Level.INFO : Level.WARNING, "on SIGUSR2: {0}", result);
                    outcomes.add(cluster.name() + " " + (result.succeeded() ? "reloaded" : "reload failed: " + result.message()));
                } catch (ClusterBusyException e) {
                    log.log(Level.ERROR, "on SIGUSR2: app {0} NOT reloaded: still busy after {1} s: {2}",
                            cluster.name(), patience.toSeconds(), e.getMessage());
                    outcomes.add(cluster.name() + " NOT reloaded, still busy after " + patience.toSeconds() + " s: " + e.getMessage());
                } catch (RuntimeException e) {
                    log.log(Level.WARNING, "on SIGUSR2: {0}: {1}", cluster.name(), e.getMessage());
                    outcomes.add(cluster.name() + " not reloaded: " + e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    outcomes.add(cluster.name() + " not reloaded: interrupted");
                    break;
                }
            }
            running.systemd().reloaded(outcomes.isEmpty() ? "no app to reload" : String.join(", ", outcomes));
        });
    }

    /**
     * {@code cluster}'s graceful reload, once the operation it is busy with (a health or memory
     * replacement, an operator's command) has finished, waiting at most {@code patience}.
     *
     * @throws ClusterBusyException still busy once {@code patience} has passed
     */
    private static OperationResult reloadWhenFree(Cluster cluster, Duration patience, System.Logger log) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        boolean waitLogged = false;
        while (true) {
            try {
                return cluster.gracefulReload();
            } catch (ClusterBusyException busy) {
                if (System.nanoTime() - deadline >= 0) throw busy;
                if (!waitLogged) {
                    log.log(Level.INFO, "on SIGUSR2: app {0} is busy ({1}); its reload waits for that to finish, up to {2} s",
                            cluster.name(), busy.getMessage(), patience.toSeconds());
                    waitLogged = true;
                }
                Thread.sleep(BUSY_RETRY_MILLIS);
            }
        }
    }

    /** How long one worker's replacement may take at most, in the slowest app: its new JVM's ready.timeout, then its old one's kill.timeout. */
    private static Duration longestReplacement(HerdService running) {
        return running.master().config().apps().stream().map(app -> app.readyTimeout().plus(app.killTimeout()))
                .max(Duration::compareTo).orElse(Duration.ZERO);
    }

    HerdService service() {
        return service;
    }
}
