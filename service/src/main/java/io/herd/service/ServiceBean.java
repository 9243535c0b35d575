package io.herd.service;

import io.herd.AppConfig;
import io.herd.ConfigException;
import io.herd.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.Master;
import io.herd.mbeans.ServiceMXBean;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
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
    public synchronized String startJar(String jar, String name, int instances, int port, String mainClass, String args) {
        if (jar == null || jar.isBlank()) throw new IllegalArgumentException("a jar is needed");
        String app = name == null || name.isBlank() ? Path.of(jar).getFileName().toString().replaceFirst("\\.jar$", "") : name;
        Map<String, String> keys = new HashMap<>();
        String prefix = "app." + app + ".";
        keys.put(prefix + "jar", jar);
        keys.put(prefix + "instances", Integer.toString(instances));
        keys.put(prefix + "listen", "127.0.0.1:" + port);
        if (mainClass != null && !mainClass.isBlank()) keys.put(prefix + "main", mainClass);
        if (args != null && !args.isBlank()) keys.put(prefix + "args", args);
        AppConfig parsed;
        try {
            parsed = HerdConfig.parse(keys, config.source(), config.home()).apps().getFirst();
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage().replace(config.source() + ": ", ""));
        }
        if (stopped.containsKey(app)) throw new IllegalArgumentException("app '" + app + "' is stopped: startApp or deleteApp it first");
        return start(parsed, "started");
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
            List<String> kept = new ArrayList<>();
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (!line.strip().startsWith("app.")) kept.add(line);
                }
                Files.copy(file, file.resolveSibling(file.getFileName() + ".bak"), StandardCopyOption.REPLACE_EXISTING);
            }
            while (!kept.isEmpty() && kept.getLast().isBlank()) kept.removeLast();
            kept.add("");
            kept.add("# Apps as they ran when herd save wrote this file (" + java.time.Instant.now() + ").");
            for (Cluster cluster : master.clusters()) {
                kept.add("");
                Map<String, String> keys = HerdConfig.keysOf(cluster.config());
                keys.put("app." + cluster.name() + ".instances", Integer.toString(cluster.info().instances()));
                keys.forEach((key, value) -> kept.add(key + " = " + value));
            }
            Path written = Files.write(file.resolveSibling(file.getFileName() + ".new"), kept, StandardCharsets.UTF_8);
            Files.move(written, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return file.toString();
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
