package io.herd.service.cli;

import org.jolokia.json.JSONWriter;

import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the read verbs print, from the Stats (ClusterInfo) Jolokia returns: their tables' columns
 * and cells, and the formatting of figures. One place, so that one service's table and the
 * many-host table (the same columns after HOST) cannot drift apart.
 */
final class Columns {
    static final String[] LIST = {"APP", "INSTANCES", "ONLINE", "SPARES", "OPEN", "ACCEPTED", "WAITING", "DROPPED", "REFUSED", "CPU", "MEMORY"};
    static final String[] MONIT = {"APP", "INSTANCE", "PID", "STATE", "UPTIME", "RESTARTS", "CPU", "MEMORY", "OPEN", "HANDED"};

    private Columns() {
    }

    /** {@code first} and then {@code rest}: a host's name before a row's cells, or HOST before a header. */
    static Object[] after(Object first, Object... rest) {
        Object[] cells = new Object[rest.length + 1];
        cells[0] = first;
        System.arraycopy(rest, 0, cells, 1, rest.length);
        return cells;
    }

    /** An app's row in {@code herd list}. */
    static Object[] listRow(Map<?, ?> app) {
        return new Object[] {app.get("app"), app.get("instances"), app.get("online"), app.get("spares"), app.get("open"), app.get("accepted"),
                app.get("waiting"), app.get("dropped"), app.get("refused"), percent(app.get("cpuPercent")), mebibytes(app.get("rssBytes"))};
    }

    /** An app's rows in {@code herd monit}: one per worker. */
    static List<Object[]> monitRows(Map<?, ?> app) {
        List<Object[]> rows = new ArrayList<>();
        for (Object row : (List<?>) app.get("workers")) {
            Map<?, ?> worker = (Map<?, ?>) row;
            rows.add(new Object[] {app.get("app"), worker.get("instance"), worker.get("pid"), worker.get("state"), duration(worker.get("uptimeMillis")),
                    worker.get("restarts"), percent(worker.get("cpuPercent")), mebibytes(worker.get("rssBytes")),
                    worker.get("open"), worker.get("handedOff")});
        }
        return rows;
    }

    static boolean proxied(Map<?, ?> stats) {
        return "proxy".equals(stats.get("dispatch"));
    }

    /** {@code herd stats}' worker columns; {@code connections}: what the count of connections is called (HANDED, RELAYED). */
    static String[] stats(String connections) {
        return new String[] {"INSTANCE", "PID", "STATE", "UPTIME", "RESTARTS", "CPU", "MEMORY", connections, "OPEN", "IN", "OUT", "LAST EXIT"};
    }

    /** The line {@code herd stats} starts with: the app's figures. */
    static String statsSummary(String app, Map<?, ?> stats) {
        return String.format(Locale.ROOT, "%s: %s instances, %s online, %s spares, %s dispatch; connections: %s open, %s accepted, %s waiting, %s dropped%s",
                app, stats.get("instances"), stats.get("online"), stats.get("spares"), stats.get("dispatch"), stats.get("open"), stats.get("accepted"),
                stats.get("waiting"), stats.get("dropped"), proxied(stats) ? ", " + stats.get("refused") + " refused (proxy.max.connections)" : "");
    }

    /** An app's rows in {@code herd stats}: one per worker; bytes relayed only in proxy dispatch. */
    static List<Object[]> statsRows(Map<?, ?> stats) {
        boolean proxied = proxied(stats);
        List<Object[]> rows = new ArrayList<>();
        for (Object row : (List<?>) stats.get("workers")) {
            Map<?, ?> worker = (Map<?, ?>) row;
            rows.add(new Object[] {worker.get("instance"), worker.get("pid"), worker.get("state"), duration(worker.get("uptimeMillis")),
                    worker.get("restarts"), percent(worker.get("cpuPercent")), mebibytes(worker.get("rssBytes")),
                    worker.get("handedOff"), worker.get("open"), proxied ? bytes(worker.get("bytesIn")) : "-",
                    proxied ? bytes(worker.get("bytesOut")) : "-", worker.get("lastExitCode") == null ? "-" : worker.get("lastExitCode")});
        }
        return rows;
    }

    static String toJson(Object value) {
        StringWriter writer = new StringWriter();
        try {
            JSONWriter.serialize(value, writer);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return writer.toString();
    }

    static String percent(Object value) {
        return value instanceof Number number ? String.format(Locale.ROOT, "%.1f%%", number.doubleValue()) : "-";
    }

    static String mebibytes(Object value) {
        return value instanceof Number number ? String.format(Locale.ROOT, "%.1f MiB", number.longValue() / 1048576.0) : "-";
    }

    /** 512 B, 3.4 KiB, 12.0 MiB, 1.5 GiB. */
    static String bytes(Object value) {
        if (!(value instanceof Number number)) return "-";
        long bytes = number.longValue();
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double scaled = bytes / 1024.0;
        int unit = 0;
        while (scaled >= 1024 && unit < units.length - 1) {
            scaled /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", scaled, units[unit]);
    }

    static String duration(Object millis) {
        if (!(millis instanceof Number number)) return "-";
        long seconds = number.longValue() / 1000;
        if (seconds < 60) return seconds + "s";
        if (seconds < 3600) return seconds / 60 + "m" + seconds % 60 + "s";
        return seconds / 3600 + "h" + seconds % 3600 / 60 + "m";
    }
}
