package io.herd.engine;

/**
 * One worker as operators see it.
 *
 * @param instance       its instance index ({@code HERD_INSTANCE})
 * @param pid            its JVM's process id
 * @param state          launching, online, stopping, stopped, errored or waiting restart
 * @param uptimeMillis   time since it became ready (since launch while it is launching)
 * @param restarts       how many times its instance has been restarted after an unexpected exit
 * @param handedOff      connections the master handed to it, in all
 * @param open           of those, the ones it has not closed yet (as it last reported)
 * @param lastExitCode   its exit code once it exited (128 + n for signal n), else null
 */
public record WorkerInfo(int instance, long pid, String state, long uptimeMillis, int restarts,
                         long handedOff, long open, Integer lastExitCode) {
}
