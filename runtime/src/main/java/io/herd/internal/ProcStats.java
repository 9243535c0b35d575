package io.herd.internal;

import io.herd.ipc.Unix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A process's CPU time and resident memory, from Linux's /proc. */
public record ProcStats(long cpuNanos, long rssBytes) {

    /** Reads them now; null when the process is gone. */
    public static ProcStats of(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The command name may hold spaces and parentheses: fields are counted after the last ')'.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
            String[] statm = Files.readString(Path.of("/proc", Long.toString(pid), "statm")).trim().split(" ");
            return new ProcStats(ticks * 1_000_000_000L / Unix.clockTicks(), Long.parseLong(statm[1]) * Unix.pageSize());
        } catch (IOException | RuntimeException gone) {
            return null;
        }
    }
}
