package io.herd.engine;

import java.util.List;

/**
 * What a scale, reload or restart did, worker by worker.
 *
 * @param operation what was asked, e.g. "reload" or "scale 4"
 * @param succeeded true when every step succeeded
 * @param message   one line for operators: what happened, or why it stopped
 * @param workers   each step's outcome, in order
 * @param durationMillis how long it took, from its start to its end
 */
public record OperationResult(String operation, boolean succeeded, String message, List<Step> workers, long durationMillis) {
    public OperationResult {
        workers = List.copyOf(workers);
    }

    /** This result, having taken {@code millis}: set once the operation has ended. */
    OperationResult took(long millis) {
        return new OperationResult(operation, succeeded, message, workers, millis);
    }

    /** The message with the time it took: "replaced 2 workers in 840 ms", "stopped at ... (after 3120 ms)". */
    public String summary() {
        return message + (succeeded ? " in " + durationMillis + " ms" : " (after " + durationMillis + " ms)");
    }

    /**
     * One worker's part in an operation.
     *
     * @param instance the instance index
     * @param oldPid   the worker it replaced or stopped, 0 for none
     * @param newPid   the worker it started, 0 for none
     * @param outcome  "replaced", "started", "stopped", "failed: why", or "not attempted"
     */
    public record Step(int instance, long oldPid, long newPid, String outcome) {
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(operation).append(": ").append(summary());
        for (Step step : workers) {
            text.append("\n  #").append(step.instance()).append(' ');
            if (step.oldPid() != 0) text.append("pid ").append(step.oldPid());
            if (step.oldPid() != 0 && step.newPid() != 0) text.append(" -> ");
            if (step.newPid() != 0) text.append("pid ").append(step.newPid());
            text.append(": ").append(step.outcome());
        }
        return text.toString();
    }
}
