package io.herd.service;

import org.apache.commons.daemon.DaemonContext;
import org.apache.commons.daemon.DaemonController;
import org.apache.commons.daemon.DaemonInitException;

import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code herd run [CONF]}: the service in the foreground, as systemd's {@code Type=notify}
 * (conf/herd.service, which it tells how it is doing: {@link SystemdNotifications}) or a terminal
 * runs it. SIGINT or SIGTERM stop it gracefully, and it exits 0 with no worker left; SIGUSR2
 * reloads every app gracefully. With {@code herd.drain.delay}, the stop begins with that delay
 * (balancers hear {@code drain}, everything serves on); a second SIGTERM or SIGINT ends the delay
 * at once, and the stop goes on as without one (the workers still finish their requests).
 *
 * <p>Exit codes: 0 stopped cleanly, 1 could not start (the reason on stderr), 2 bad usage, 3 a
 * fatal error ({@link ExitOnFatalError}; -XX:+ExitOnOutOfMemoryError exits with 3 too).
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
        HerdDaemon daemon = new HerdDaemon();
        try {
            daemon.init(new Arguments(args.length == 2 ? new String[] {args[1]} : new String[0]));
        } catch (DaemonInitException e) {
            err.println("herd: " + e.getMessage());
            return FAILED;
        }
        HerdService service = daemon.service();
        // The handlers go in before the start, which takes seconds (the workers' launch): a SIGTERM
        // then would otherwise meet the JVM's default action, and exit 143 without draining, and a
        // SIGUSR2 would end the JVM. A stop asked for during the start runs once it is over.
        CountDownLatch stopAsked = new CountDownLatch(1);
        Signals.onStop(() -> {
            // A second SIGTERM (or SIGINT) cuts herd.drain.delay short: the stop goes on at once, as without a delay.
            if (stopAsked.getCount() == 0) service.skipDrain();
            stopAsked.countDown();
        });
        Signals.onUser2(daemon::signal); // as jsvc does: SIGUSR2 reloads every app gracefully
        try {
            daemon.start();
        } catch (Exception e) {
            err.println("herd: cannot start: " + e);
            stopQuietly(service);
            return FAILED;
        }
        AtomicBoolean stopping = new AtomicBoolean();
        Runnable stop = () -> {
            if (stopping.compareAndSet(false, true)) stopQuietly(service);
        };
        // Any other way out of the JVM (System.exit elsewhere, say) still takes the workers along,
        // without the drain delay: the JVM is going, whatever a balancer hears.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (!stopping.get()) service.skipDrain();
            stop.run();
        }, "herd-shutdown-hook"));
        try {
            stopAsked.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stop.run();
        return service.state() == io.herd.lifecycle.LifeCycle.State.STOPPED ? OK : FAILED;
    }

    /** What jsvc would hand the daemon: the arguments after the class name. */
    private record Arguments(String[] arguments) implements DaemonContext {
        @Override
        public DaemonController getController() {
            return null;
        }

        @Override
        public String[] getArguments() {
            return arguments;
        }
    }

    private static void stopQuietly(HerdService service) {
        try {
            service.stop();
        } catch (Exception e) {
            System.getLogger(Main.class.getName()).log(System.Logger.Level.ERROR, "stop failed", e);
        }
    }
}
