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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The {@link ServiceMXBean}: apps at run time, the PM2 way, on top of the master. */
final class ServiceBean implements ServiceMXBean {
    private final HerdService service;
    private final Master master;
    private final HerdConfig config;
    private final long startedNanos = System.nanoTime();
    /** Apps stopped with stopApp, by name: what startApp brings back. */
    private final Map<String, AppConfig> stopped = new LinkedHashMap<>();

    ServiceBean(HerdService service, Master master, HerdConfig config) {
        this.service = service;
        this.master = master;
        this.config = config;
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

    @Override
    public synchronized String stopApp(String app) {
        AppConfig settings = running(app).config();
        remove(app);
        stopped.put(app, settings);
        return "stopped " + app;
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

    @Override
    public synchronized String deleteApp(String app) {
        if (stopped.remove(app) != null) return "deleted " + app;
        running(app);
        remove(app);
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
        try {
            service.register(master.addApp(app));
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
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
