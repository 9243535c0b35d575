package io.herd.engine;

import java.util.List;

/**
 * What a scale, reload or restart did, worker by worker.
 *
 * @param operation what was asked, e.g. "reload" or "scale 4"
 * @param succeeded true when every step succeeded
 * @param message   one line for operators: what happened, or why it stopped
 * @param workers   each step's outcome, in order
 */
public record OperationResult(String operation, boolean succeeded, String message, List<Step> workers) {
    public OperationResult {
        workers = List.copyOf(workers);
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
        StringBuilder text = new StringBuilder(operation).append(": ").append(message);
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
