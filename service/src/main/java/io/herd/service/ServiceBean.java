package io.herd.service;

import io.herd.config.AppConfig;
import io.herd.config.ConfigException;
import io.herd.config.ConfigFile;
import io.herd.config.HerdConfig;
import io.herd.config.Settings;
import io.herd.config.Words;
import io.herd.engine.Cluster;
import io.herd.engine.Master;
import io.herd.mbeans.ServiceMXBean;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The {@link ServiceMXBean}: apps at run time, the PM2 way, on top of the master. */
final class ServiceBean implements ServiceMXBean {
    private static final System.Logger LOG = System.getLogger(ServiceBean.class.getName());
    private final HerdService service;
    private final Master master;
    private final HerdConfig config;
    private final long startedNanos = System.nanoTime();
    /**
     * Apps stopped with stopApp, by name: what startApp brings back. Changed and walked under
     * this object's lock; synchronized itself too, for the balancers' view (another thread) to ask
     * of one app without waiting for an operation to finish.
     */
    private final Map<String, AppConfig> stopped = Collections.synchronizedMap(new LinkedHashMap<>());
    /** Apps in stopApp's drain delay, or stopping: under this object's lock. */
    private final Set<String> stopping = new HashSet<>();

    ServiceBean(HerdService service, Master master, HerdConfig config) {
        this.service = service;
        this.master = master;
        this.config = config;
        service.balancerView().stoppedAppsFrom(stopped::containsKey);
    }

    @Override
    public String getVersion() {
        String version = HerdService.class.getPackage().getImplementationVersion();
        return version != null ? version : "development";
    }

    @Override
    public long getUptimeMillis() {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }

    @Override
    public List<String> getApps() {
        return master.clusters().stream().map(Cluster::name).toList();
    }

    @Override
    public synchronized List<String> getStoppedApps() {
        return List.copyOf(stopped.keySet());
    }

    @Override
    public synchronized String startJar(String jar, String name, int instances, int port, String mainClass, List<String> args) {
        if (jar == null || jar.isBlank()) throw new IllegalArgumentException("a jar is needed");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port must be from 1 to 65535, not " + port);
        String app = name == null || name.isEmpty() ? nameOf(jar) : name;
        if (!HerdConfig.isAppName(app)) {
            throw new IllegalArgumentException("the app name '" + HerdConfig.printable(app) + "' must be " + HerdConfig.APP_NAME_RULE);
        }
        if (stopped.containsKey(app)) throw new IllegalArgumentException("app '" + app + "' is stopped: startApp or deleteApp it first");
        // Through the configuration's own parser: what could be saved is checked as a file's line would be.
        Map<String, String> keys = new HashMap<>();
        keys.put(Settings.JAR.key(app), jar);
        keys.put(Settings.INSTANCES.key(app), Integer.toString(instances));
        keys.put(Settings.LISTEN.key(app), "127.0.0.1:" + port);
        if (mainClass != null && !mainClass.isEmpty()) keys.put(Settings.MAIN.key(app), mainClass);
        if (args != null && !args.isEmpty()) {
            if (args.contains(null)) throw new IllegalArgumentException("an argument is null");
            keys.put(Settings.ARGS.key(app), Words.join(args));
        }
        AppConfig parsed;
        try {
            parsed = HerdConfig.parse(keys, config.source(), config.home()).app(app);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage().replace(config.source() + ": ", ""));
        }
        return start(parsed, "started");
    }

    /** An app name made from a jar's file name: {@code My_App-1.0.jar} is {@code my-app-1-0}. */
    private static String nameOf(String jar) {
        Path fileName = Path.of(jar.strip()).getFileName();
        String file = fileName == null ? "" : fileName.toString();
        String name = file.replaceFirst("\\.jar$", "").toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-")
                .replaceAll("^-+|-+$", "");
        if (name.isEmpty()) throw new IllegalArgumentException("no app name can be made from '" + file + "': give one");
        return name.length() > 40 ? name.substring(0, 40).replaceAll("-+$", "") : name;
    }

    /**
     * Stops an app, after {@code herd.drain.delay}: balancers hear {@code drain} for it at once,
     * and it serves on, unchanged, that long; then it stops, and they hear {@code maint}. The
     * delay does not hold this object's lock: other apps' operations go on meanwhile.
     */
    @Override
    public String stopApp(String app) {
        AppConfig settings;
        synchronized (this) {
            settings = running(app).config();
            if (!stopping.add(app)) throw new IllegalArgumentException("app '" + app + "' is stopping already");
        }
        BalancerView view = service.balancerView();
        view.appDraining(app, true);
        try {
            drainDelay(app);
            synchronized (this) {
                stopped.put(app, settings); // first: from now on the app is known as stopped, whatever remove does
                try {
                    remove(app);
                } catch (RuntimeException e) {
                    if (master.cluster(app) != null) stopped.remove(app); // it runs on
                    throw e;
                }
            }
            return "stopped " + app;
        } finally {
            synchronized (this) {
                stopping.remove(app);
            }
            view.appDraining(app, false);
        }
    }

    /**
     * stopApp's drain delay, with one line in the log. The service beginning to stop (or a second
     * SIGTERM) ends it early, and then this stop gives way to the service's: the app stops with it.
     */
    private void drainDelay(String app) {
        Duration delay = config.drainDelay();
        if (delay == null || delay.isZero()) return;
        LOG.log(Level.INFO, "app {0}: draining: balancers are told to send no new clients; serving on unchanged for {1} ms "
                + "(herd.drain.delay), then stopping", app, Long.toString(delay.toMillis()));
        try {
            if (service.awaitAppDrain(delay)) return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (service.balancerView().isServiceDraining()) {
            throw new IllegalStateException("the service is stopping: app '" + app + "' stops with it");
        }
    }

    @Override
    public synchronized String startApp(String app) {
        AppConfig settings = stopped.get(app);
        if (settings == null) {
            throw new IllegalArgumentException(master.cluster(app) != null ? "app '" + app + "' is running" : "no stopped app '" + app + "'");
        }
        String result = start(settings, "started again");
        stopped.remove(app);
        return result;
    }

    /**
     * Deletes an app. A running one is stopped first as {@link #stopApp} stops it (balancers hear
     * {@code drain} through {@code herd.drain.delay}, then {@code maint}), so that its agent port
     * does not close under a balancer that still sends it clients.
     */
    @Override
    public String deleteApp(String app) {
        boolean runs;
        synchronized (this) {
            if (stopping.contains(app)) throw new IllegalArgumentException("app '" + app + "' is stopping: delete it once it has stopped");
            runs = !stopped.containsKey(app);
            if (runs) running(app);
        }
        if (runs) stopApp(app);
        synchronized (this) {
            if (stopped.remove(app) == null) {
                throw new IllegalStateException("app '" + app + "' was started again while it drained before its delete: it runs on");
            }
            service.agents().close(app); // a deleted app is gone for balancers too: its agent port closes
        }
        return "deleted " + app;
    }

    @Override
    public synchronized String save() {
        Path file = config.source();
        try {
            ConfigFile saved = ConfigFile.read(file, config.home());
            saved.update(master.clusters().stream().map(cluster -> cluster.config().withInstances(cluster.info().instances())).toList(),
                    stopped.keySet());
            saved.write();
            return file.toString();
        } catch (AccessDeniedException e) {
            throw new UncheckedIOException("cannot write " + file + ": the service's user may not write in " + file.toAbsolutePath().getParent()
                    + " (save writes a new file there and renames it over the old one)", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private Cluster running(String app) {
        Cluster cluster = master.cluster(app);
        if (cluster == null) throw new IllegalArgumentException("no app '" + app + "' is running");
        return cluster;
    }

    private String start(AppConfig app, String what) {
        boolean agentNew = service.agents().address(app.name()) == null;
        try {
            service.bindAgent(app); // a stopped app's is bound still
            service.register(master.addApp(app));
        } catch (IllegalArgumentException e) {
            if (agentNew) service.agents().close(app.name());
            throw e;
        } catch (Exception e) {
            if (agentNew) service.agents().close(app.name());
            throw new IllegalStateException(e.getMessage().replace(config.source() + ": ", ""), e);
        }
        return what + " " + app.name() + ": " + app.instances() + " worker" + (app.instances() == 1 ? "" : "s") + " on "
                + master.addresses(app.name());
    }

    private void remove(String app) {
        try {
            service.unregister(app);
            master.removeApp(app);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(app + ": " + e.getMessage(), e);
        }
    }
}
