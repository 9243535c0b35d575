package io.herd.service;

import io.herd.ConfigException;
import io.herd.HerdConfig;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code herd run [CONF]}: the service in the foreground, as systemd's {@code Type=simple} (or a
 * terminal) runs it. SIGINT or SIGTERM stop it gracefully, and it exits 0 with no worker left.
 *
 * <p>Exit codes: 0 stopped cleanly, 1 could not start (the reason on stderr), 2 bad usage.
 */
public final class Main {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.err));
    }

    static int run(String[] args, PrintStream err) {
        if (args.length == 0 || !args[0].equals("run") || args.length > 2) {
            err.println("usage: herd run [CONF]   (CONF defaults to conf/herd.properties)");
            return USAGE;
        }
        Path home = Path.of(System.getProperty("herd.home", ".")).toAbsolutePath().normalize();
        Path file = args.length == 2 ? Path.of(args[1]).toAbsolutePath() : home.resolve("conf/herd.properties");
        if (!Files.isRegularFile(file)) {
            err.println("herd: no configuration file " + file);
            return FAILED;
        }
        HerdConfig config;
        try {
            config = HerdConfig.load(file, home);
        } catch (ConfigException e) {
            err.println("herd: the configuration cannot be used:\n" + e.getMessage());
            return FAILED;
        }
        // Before the first logger exists: log4j's configuration writes under this directory.
        System.setProperty("herd.logs.dir", config.logsDir().toString());
        HerdService service = new HerdService(config);
        try {
            service.bind();
            service.start();
        } catch (ConfigException e) {
            err.println("herd: " + e.getMessage());
            stopQuietly(service);
            return FAILED;
        } catch (Exception e) {
            err.println("herd: cannot start: " + e);
            stopQuietly(service);
            return FAILED;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean stopping = new AtomicBoolean();
        Runnable stop = () -> {
            if (!stopping.compareAndSet(false, true)) return;
            stopQuietly(service);
            stopped.countDown();
        };
        Signals.onStop(stop);
        // Any other way out of the JVM (System.exit elsewhere, say) still takes the workers along.
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "herd-shutdown-hook"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            stop.run();
        }
        return service.state() == io.herd.lifecycle.LifeCycle.State.STOPPED ? OK : FAILED;
    }

    private static void stopQuietly(HerdService service) {
        try {
            service.stop();
        } catch (Exception e) {
            System.getLogger(Main.class.getName()).log(System.Logger.Level.ERROR, "stop failed", e);
        }
    }
}
