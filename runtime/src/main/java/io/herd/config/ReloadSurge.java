package io.herd.config;

/**
 * How many replacements a reload may run at once, beyond the app's own workers: a count, or a
 * percentage of the app's instances, as Kubernetes' {@code maxSurge} is written
 * ({@code app.<name>.reload.surge = 2}, {@code = 25%}).
 *
 * @param amount  the count, or the percentage
 * @param percent true when {@code amount} is a percentage of the app's instances
 */
public record ReloadSurge(int amount, boolean percent) {
    public ReloadSurge {
        if (amount < 1) throw new IllegalArgumentException("a reload surge is at least 1 (or 1%), not " + amount);
    }

    /** How many replacements may start at once for an app of {@code instances}: a percentage rounds up, and it is never less than 1. */
    public int workers(int instances) {
        if (!percent) return amount;
        return Math.max(1, (int) Math.ceilDiv((long) instances * amount, 100));
    }

    /** As the configuration writes it: {@code 2}, {@code 25%}. */
    @Override
    public String toString() {
        return amount + (percent ? "%" : "");
    }
}
