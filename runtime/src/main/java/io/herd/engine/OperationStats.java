package io.herd.engine;

import java.util.List;

/**
 * How often one kind of operation on an app ran since the app started, how each ended, and how
 * long they took, as a histogram: what Prometheus reads as {@code herd_operations_total} and
 * {@code herd_operation_duration_seconds}.
 *
 * @param operation   the kind: {@code scale} (scaleBy too), {@code reload}, {@code gracefulReload},
 *                    {@code restart}, {@code memoryRestart} (a worker replaced over max.memory) or
 *                    {@code healthRestart} (a worker replaced for failing its health checks)
 * @param succeeded   how many ended with every step succeeded
 * @param failed      how many ended otherwise: a step failed, or the operation threw
 * @param totalSeconds how long they took together, in seconds
 * @param bucketCounts how many took at most each of {@link #BUCKET_SECONDS}, in that order
 *                    (cumulative, as Prometheus counts buckets); all of them took at most +Inf
 */
public record OperationStats(String operation, long succeeded, long failed, double totalSeconds, List<Long> bucketCounts) {
    /**
     * The histogram's upper bounds, in seconds: an operation takes from a fraction of a second (a
     * scale to a spare) to minutes (a rolling reload of many slow-starting workers).
     */
    public static final List<Double> BUCKET_SECONDS = List.of(0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0);

    public OperationStats {
        bucketCounts = List.copyOf(bucketCounts);
        if (bucketCounts.size() != BUCKET_SECONDS.size()) {
            throw new IllegalArgumentException(bucketCounts.size() + " bucket counts for " + BUCKET_SECONDS.size() + " buckets");
        }
    }

    /** How many ended, whichever way. */
    public long count() {
        return succeeded + failed;
    }
}
