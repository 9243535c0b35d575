package io.herd.engine;

/**
 * One worker as operators see it.
 *
 * @param instance       its instance index ({@code HERD_INSTANCE}); a spare's index follows the serving
 *                       workers' at start, and stays its own when it takes a place
 * @param pid            its JVM's process id
 * @param state          launching, online, spare, stopping, stopped, errored or waiting restart
 * @param uptimeMillis   time since it became ready (since launch while it is launching)
 * @param restarts       how many times its instance has been restarted after an unexpected exit
 * @param handedOff      connections the master handed (or relayed) to it, in all
 * @param open           of those, the ones it has not closed yet (as it last reported)
 * @param bytesIn        proxy dispatch: bytes relayed from clients to it, in all (0 in handoff dispatch)
 * @param bytesOut       proxy dispatch: bytes relayed from it to clients, in all (0 in handoff dispatch)
 * @param lastExitCode   its exit code once it exited (128 + n for signal n), else null
 * @param cpuPercent     its CPU use over the last sampling period (every 2 s), in percent of one core
 * @param rssBytes       its resident memory at the last sample, in bytes
 * @param cpuSeconds     the CPU time its JVM has used in all, as of the last sample, in seconds
 * @param startMillis    how long its start took, from launch to ready; 0 while it has not been ready
 */
public record WorkerInfo(int instance, long pid, String state, long uptimeMillis, int restarts,
                         long handedOff, long open, long bytesIn, long bytesOut, Integer lastExitCode, double cpuPercent, long rssBytes,
                         double cpuSeconds, long startMillis) {
}
