package io.herd.engine;

import io.herd.config.AppConfig;
import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.ipc.JdkSockets;
import io.herd.lifecycle.Container;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.io.File;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The master: owns every app's listening sockets and runs one {@link Cluster} per app.
 *
 * <p>{@link #bind()} opens the sockets (a daemon may do this as root, before it drops
 * privileges); {@link #start()} launches the workers and starts accepting. Stopping stops
 * accepting first, then each app's workers, gracefully.
 */
public final class Master extends Container {
    private static final System.Logger LOG = System.getLogger(Master.class.getName());
    private final HerdConfig config;
    private final Map<String, Cluster> clusters = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
    private final FatalErrors fatalErrors;
    private final Acceptor acceptor;
    private final Relay relay;
    private final ScheduledThreadPoolExecutor housekeeping;
    private final WorkerOutput workerOutput;
    private final AotCaches aotCaches;
    private boolean bound;
    private Path ipcDir;
    /** The listening sockets systemd passed (socket activation), read at the first {@link #bind()}. */
    private PassedSockets passedSockets = PassedSockets.none();
    /** Why the passed sockets cannot be used, once found: a second bind() must not read the descriptors again. */
    private ConfigException passedSocketsUnusable;
    private boolean passedSocketsRead;

    public Master(HerdConfig config) {
        this(config, null);
    }

    /** @param workerOutput where workers' output lines go; null to append them to files in the logs directory */
    public Master(HerdConfig config, WorkerOutput workerOutput) {
        this(config, workerOutput, null);
    }

    /**
     * @param workerOutput where workers' output lines go; null to append them to files in the logs directory
     * @param onFatalError what an Error escaping one of the master's threads does; null to stop
     *                     this master, and only it: the JVM it runs in is its owner's
     */
    public Master(HerdConfig config, WorkerOutput workerOutput, FatalErrorHandler onFatalError) {
        this.config = config;
        this.workerOutput = workerOutput;
        this.fatalErrors = new FatalErrors(onFatalError != null ? onFatalError : this::stopAfterFatalError);
        this.aotCaches = new AotCaches(config.home().resolve("var").resolve("aot"));
        // Started in this order, stopped in reverse: the acceptor stops before the relay and the
        // clusters, so connections stop coming before the workers drain.
        relay = addPart(new Relay(config.proxyThreads(), fatalErrors));
        for (AppConfig app : config.apps()) clusters.put(app.name(), addPart(new Cluster(app, this)));
        acceptor = addPart(new Acceptor(fatalErrors));
        housekeeping = fatalErrors.newTimer("herd-housekeeping");
    }

    /**
     * The default reaction to a fatal error: this master stops, its workers with it, rather than
     * live on without one of its threads. On a thread of its own: stopping waits for the master's
     * threads, the failed one among them.
     */
    private void stopAfterFatalError(Thread thread, Error error) {
        LOG.log(Level.ERROR, "fatal: " + error + " in thread " + thread.getName() + ": stopping the master", error);
        Thread.ofPlatform().name("herd-fatal-stop").start(() -> {
            try {
                stop();
            } catch (Exception e) {
                LOG.log(Level.ERROR, "stopping the master after a fatal error failed", e);
            }
        });
    }

    /**
     * Opens every listening socket, or adopts the one systemd passed for it (socket activation,
     * {@link PassedSockets}); fails naming the port and the file when one is taken, and naming
     * the descriptor when a passed one is not a listening TCP socket or belongs to no app.
     */
    public synchronized void bind() throws ConfigException {
        if (bound) return;
        readPassedSockets();
        Set<String> names = Set.copyOf(clusters.keySet());
        Map<Cluster, Map<InetSocketAddress, PassedSockets.Passed>> adopted = new LinkedHashMap<>();
        for (Cluster cluster : clusters.values()) adopted.put(cluster, passedSockets.claim(cluster.config(), names));
        passedSockets.checkEveryOneClaimed(config.apps()); // before anything is bound
        for (Cluster cluster : clusters.values()) listen(cluster, cluster.config(), adopted.get(cluster));
        bound = true;
    }

    /**
     * Takes {@code sockets} as the ones systemd passed, instead of this process's LISTEN_FDS: for
     * a test, which cannot have its JVM started with descriptors of its own. Before {@link #bind()}.
     */
    synchronized void usePassedSockets(PassedSockets sockets) {
        if (passedSocketsRead) throw new IllegalStateException("the passed sockets were read already");
        passedSockets = sockets;
        passedSocketsRead = true;
    }

    private void readPassedSockets() throws ConfigException {
        if (!passedSocketsRead) {
            passedSocketsRead = true;
            try {
                passedSockets = PassedSockets.fromEnvironment(System.getenv(), ProcessHandle.current().pid());
            } catch (ConfigException e) {
                passedSocketsUnusable = e;
            }
        }
        if (passedSocketsUnusable != null) throw passedSocketsUnusable;
    }

    /** Accepts for {@code app} on each of its listen addresses: on the passed socket adopted for it, else on one bound now. */
    private void listen(Cluster cluster, AppConfig app, Map<InetSocketAddress, PassedSockets.Passed> adopted) throws ConfigException {
        for (InetSocketAddress address : app.listen()) {
            PassedSockets.Passed socket = adopted.get(address);
            String key = "app." + app.name() + ".listen " + PassedSockets.hostAndPort(address);
            if (socket == null) {
                if (!passedSockets.isEmpty()) LOG.log(Level.INFO, "{0}: no socket from systemd is this address''s: herd binds it", key);
                acceptor.bind(cluster, address, config.source());
                continue;
            }
            try {
                acceptor.adopt(cluster, socket.channel(), socket.v6());
            } catch (IOException e) {
                throw new ConfigException("LISTEN_FDS: " + socket + " cannot be adopted for " + key + ": " + e.getMessage(), e);
            }
            LOG.log(Level.INFO, "adopted {0} from systemd for app {1} ({2})", socket, app.name(), key);
        }
    }

    @Override
    protected void doStart() throws Exception {
        JdkSockets.check(); // fail now, with the fix in the message, not at the first connection
        bind();
        Files.createDirectories(config.logsDir());
        if (!Files.isWritable(config.logsDir())) {
            throw new IOException("herd.logs.dir " + config.logsDir() + " is not writable by the service's user");
        }
        Path base = config.ipcDir() != null ? Files.createDirectories(config.ipcDir())
                : Path.of(System.getProperty("java.io.tmpdir"));
        // Only the service's user may enter: nobody else can reach a worker's channel.
        ipcDir = Files.createTempDirectory(base, "herd-" + ProcessHandle.current().pid() + "-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        removeIpcDirsOfDeadMasters(base);
        warnIfRelayBuffersCanOutgrowDirectMemory(config.apps());
        super.doStart();
    }

    /**
     * Each relayed connection may hold two of the relay's direct buffers; should every proxied app
     * reach its proxy.max.connections with slow readers, they must fit in the JVM's direct memory,
     * or the relay runs out of it — and an Error in the relay stops the service. Said at start
     * (and when an app is added), not enforced: the operator may know the load better.
     */
    private void warnIfRelayBuffersCanOutgrowDirectMemory(List<AppConfig> apps) {
        long worstCase = apps.stream().filter(AppConfig::proxied).mapToLong(app -> (long) app.proxy().maxConnections()).sum()
                * 2 * Relay.BUFFER_SIZE;
        long limit = maxDirectMemory();
        if (worstCase > limit) {
            LOG.log(Level.WARNING, "the proxied apps'' proxy.max.connections allow up to {0} MiB of relay buffers, more than the "
                    + "{1} MiB of direct memory this JVM has (-XX:MaxDirectMemorySize): lower them, or raise it",
                    Long.toString(worstCase >> 20), Long.toString(limit >> 20));
        }
    }

    /** -XX:MaxDirectMemorySize, or what the JVM takes when it is not set: the heap's maximum. */
    private static long maxDirectMemory() {
        try {
            String value = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption("MaxDirectMemorySize").getValue();
            long bytes = Long.parseLong(value);
            return bytes > 0 ? bytes : Runtime.getRuntime().maxMemory();
        } catch (RuntimeException notHotSpot) {
            return Runtime.getRuntime().maxMemory();
        }
    }

    @Override
    protected void doStop() throws Exception {
        try {
            super.doStop();
        } finally {
            housekeeping.shutdownNow();
            passedSockets.close(); // close(2) of our copies, those of removed apps too; systemd's keep listening
            deleteIpcDir();
        }
    }

    /**
     * Removes the IPC directory: flat, sockets only. A worker's channel may be closing at the same
     * time and remove its own socket, so the entries are listed without reading their attributes
     * (which Files.walk does, and fails on a file gone between the listing and the read).
     */
    private void deleteIpcDir() throws IOException {
        if (ipcDir == null) return;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(ipcDir)) {
            for (Path entry : entries) Files.deleteIfExists(entry);
        }
        Files.deleteIfExists(ipcDir);
    }

    private static final Pattern IPC_DIR = Pattern.compile("herd-(\\d{1,10})-\\d+");

    /**
     * A master killed with SIGKILL cannot remove its IPC directory. The next one removes those of
     * masters that are gone: exactly of the shape it makes itself ({@code herd-<pid>-<digits>}),
     * owned by this user and private (like the directory just made), named for a pid that no
     * longer runs, and holding nothing but sockets — nothing of anyone else's, no link followed.
     */
    private void removeIpcDirsOfDeadMasters(Path base) {
        UserPrincipal self;
        try {
            self = Files.getOwner(ipcDir);
        } catch (IOException e) {
            return;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base, "herd-*")) {
            for (Path dir : dirs) {
                try {
                    if (isIpcDirOfDeadMaster(dir, self) && removeSocketsAndDir(dir)) {
                        LOG.log(Level.INFO, "removed {0}, the IPC directory of a master that is gone", dir);
                    }
                } catch (IOException | RuntimeException e) {
                    LOG.log(Level.DEBUG, "left {0}: {1}", dir, e.toString());
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "could not look for IPC directories of dead masters in {0}: {1}", base, e.toString());
        }
    }

    private boolean isIpcDirOfDeadMaster(Path dir, UserPrincipal self) throws IOException {
        Matcher name = IPC_DIR.matcher(dir.getFileName().toString());
        if (dir.equals(ipcDir) || !name.matches() || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return false;
        if (!Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).equals(self)) return false;
        if (!PosixFilePermissions.toString(Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS)).equals("rwx------")) return false;
        return ProcessHandle.of(Long.parseLong(name.group(1))).isEmpty();
    }

    /** Removes the sockets in {@code dir}, then {@code dir} if that emptied it. */
    private static boolean removeSocketsAndDir(Path dir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) Files.delete(entry);
            }
        }
        try (DirectoryStream<Path> left = Files.newDirectoryStream(dir)) {
            if (left.iterator().hasNext()) return false;
        }
        Files.delete(dir);
        return true;
    }

    /**
     * Adds an app to the running master: binds its ports, launches its workers, accepts for it.
     *
     * @throws IllegalArgumentException when an app of that name runs already
     * @throws ConfigException          when a port cannot be bound; nothing is left behind
     */
    public synchronized Cluster addApp(AppConfig app) throws Exception {
        if (clusters.containsKey(app.name())) throw new IllegalArgumentException("app '" + app.name() + "' is running already");
        Cluster cluster = new Cluster(app, this);
        List<AppConfig> all = new ArrayList<>(clusters().stream().map(Cluster::config).toList());
        all.add(app);
        warnIfRelayBuffersCanOutgrowDirectMemory(all);
        Set<String> names = new HashSet<>(clusters.keySet());
        names.add(app.name());
        Map<InetSocketAddress, PassedSockets.Passed> adopted = passedSockets.claim(app, names);
        try {
            listen(cluster, app, adopted);
            cluster.start();
        } catch (Exception e) {
            acceptor.unbind(cluster);
            passedSockets.release(adopted.values().stream().map(PassedSockets.Passed::channel).toList());
            cluster.stop();
            throw e;
        }
        clusters.put(app.name(), addPart(cluster));
        return cluster;
    }

    /** Stops accepting for an app, drains and stops its workers, and forgets it. */
    public synchronized void removeApp(String name) throws Exception {
        Cluster cluster = clusters.remove(name);
        if (cluster == null) throw new IllegalArgumentException("no app '" + name + "' is running");
        List<ServerSocketChannel> kept = acceptor.unbind(cluster);
        if (!kept.isEmpty()) {
            // Never closed: systemd listens on them still, so herd could not bind their address again.
            passedSockets.release(kept);
            LOG.log(Level.INFO, "app {0} removed: its {1} socket(s) from systemd stay open, unaccepted, for the next app on "
                    + "their address; connections to them wait in the kernel''s queue", name, Integer.toString(kept.size()));
        }
        removePart(cluster);
        cluster.stop();
    }

    public HerdConfig config() {
        return config;
    }

    public List<Cluster> clusters() {
        synchronized (clusters) {
            return List.copyOf(clusters.values());
        }
    }

    public Cluster cluster(String app) {
        return clusters.get(app);
    }

    /** Shared dispatch: the app's listening sockets, which each of its workers in rotation is passed. */
    List<Acceptor.SharedSocket> sharedSockets(Cluster cluster) {
        return acceptor.listeners(cluster);
    }

    /** The accept thread's owner (for tests, which hold that thread to make a burst arrive at one wake-up). */
    Acceptor acceptor() {
        return acceptor;
    }

    /** Where the app's listening sockets are bound. */
    public List<InetSocketAddress> addresses(String app) {
        return acceptor.addresses(clusters.get(app));
    }

    /**
     * Runs {@code alive} every {@code period}, once each of the master's event loops — every app's
     * event thread, the accept thread, the relay threads — has run a no-op posted to it then, and
     * the housekeeping timer that posts them has come round: what systemd's watchdog should hear,
     * so that a master with a stuck loop stops saying it is alive and is restarted. A loop that
     * has not answered within the period is named in the log, and that beat is skipped.
     * {@code alive} runs on the loop that answered last: it must be quick. Ends with the master,
     * or when the returned future is cancelled.
     */
    public ScheduledFuture<?> heartbeat(Duration period, Runnable alive) {
        long millis = Math.max(1, period.toMillis());
        // At a fixed rate and without jitter, unlike the master's other periodic work: systemd's
        // watchdog deadline is fixed, and nothing else keeps time with this beat.
        return housekeeping.scheduleAtFixedRate(() -> {
            Map<String, CompletableFuture<Void>> trips = new LinkedHashMap<>();
            trips.put("the accept thread", acceptor.roundTrip());
            trips.put("the relay threads", relay.roundTrip());
            for (Cluster cluster : clusters()) trips.put("app " + cluster.name() + "'s event thread", cluster.roundTrip());
            CompletableFuture.allOf(trips.values().toArray(CompletableFuture[]::new))
                    .orTimeout(millis, TimeUnit.MILLISECONDS)
                    .whenComplete((done, failed) -> {
                        if (failed == null) {
                            alive.run();
                            return;
                        }
                        List<String> stuck = trips.entrySet().stream().filter(trip -> !trip.getValue().isDone()).map(Map.Entry::getKey).toList();
                        LOG.log(Level.WARNING, "no heartbeat: {0} did not answer within {1} ms", String.join(", ", stuck), Long.toString(millis));
                    });
        }, 0, millis, TimeUnit.MILLISECONDS);
    }

    ScheduledExecutorService housekeeping() {
        return housekeeping;
    }

    /** Where the master's threads send the Errors that escape them. */
    FatalErrors fatalErrors() {
        return fatalErrors;
    }

    Relay relay() {
        return relay;
    }

    /** The service's private (0700) directory of IPC sockets; each socket is unlinked once its worker connected. */
    public Path ipcDir() {
        return ipcDir;
    }

    /** The workers' AOT caches, in var/aot/ under herd's home. */
    AotCaches aotCaches() {
        return aotCaches;
    }

    WorkerOutput workerOutput() {
        return workerOutput;
    }

    File logFile(String name) {
        return config.logsDir().resolve(name).toFile();
    }
}
