package io.herd.mbeans;

import java.util.List;

/**
 * The herd service itself, as {@code herd:type=Service}: what runs, and apps added, stopped,
 * started and removed while it runs (PM2's start, stop, delete and save).
 */
@Description("The herd service: its version, uptime and apps; apps added, stopped, started and removed at run time, and saved.")
public interface ServiceMXBean {

    @Description("herd's version.")
    String getVersion();

    @Description("Milliseconds since the service started.")
    long getUptimeMillis();

    @Description("The apps running now, by name.")
    List<String> getApps();

    @Description("Apps stopped with stopApp, which startApp can start again.")
    List<String> getStoppedApps();

    @Description("Adds an app and starts it, without editing a file (like pm2 start app.js -i 4). Returns what happened; "
            + "save() keeps it across restarts.")
    String startJar(@Description(value = "The app's jar: an existing file on the service's host.", name = "jar") String jar,
                    @Description(value = "The app's name: lower-case letters, digits and '-'; empty for one made from the jar's "
                            + "file name.", name = "name") String name,
                    @Description(value = "Workers; 0 for one per CPU core.", name = "instances") int instances,
                    @Description(value = "The port on 127.0.0.1 to accept on, 1 to 65535.", name = "port") int port,
                    @Description(value = "The main class (a Java class name); empty to run the jar with -jar.", name = "mainClass")
                    String mainClass,
                    @Description(value = "The app's arguments, one word each (a word may hold spaces); may be empty.", name = "args")
                    List<String> args);

    @Description("Stops an app gracefully (out of rotation, workers drain), keeping its settings for startApp.")
    String stopApp(@Description(value = "The app's name.", name = "app") String app);

    @Description("Starts again an app stopped with stopApp.")
    String startApp(@Description(value = "The app's name.", name = "app") String app);

    @Description("Stops an app gracefully and forgets it (like pm2 delete).")
    String deleteApp(@Description(value = "The app's name.", name = "app") String app);

    @Description("Writes the running apps, at their current instance counts, back to the configuration file, so a restart "
            + "brings them up again (like pm2 save): only the lines whose values changed, apps added or deleted at run time; "
            + "comments and order kept. The previous file is kept as <file>.bak. Returns the file written.")
    String save();
}
