package io.herd.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts an app's operations as they end, by kind and outcome, with a histogram of how long
 * they took ({@link OperationStats}). Operations are rare and one runs at a time: a lock is
 * cheap here, and every kind is counted from the start, at zero, so that no series appears
 * only once an operation first ran.
 */
final class OperationTally {
    /** Every kind of operation, in the order they are listed. */
    static final List<String> KINDS = List.of("scale", "reload", "gracefulReload", "restart", "memoryRestart", "healthRestart");

    private final Map<String, Counts> byKind = new LinkedHashMap<>();

    OperationTally() {
        for (String kind : KINDS) byKind.put(kind, new Counts());
    }

    /** One operation of {@code kind} ended, after {@code millis}. */
    synchronized void record(String kind, boolean succeeded, long millis) {
        Counts counts = byKind.get(kind);
        if (counts == null) throw new IllegalArgumentException("no kind of operation '" + kind + "': one of " + KINDS);
        if (succeeded) counts.succeeded++;
        else counts.failed++;
        counts.totalMillis += millis;
        double seconds = millis / 1000.0;
        for (int i = 0; i < OperationStats.BUCKET_SECONDS.size(); i++) {
            if (seconds <= OperationStats.BUCKET_SECONDS.get(i)) counts.buckets[i]++;
        }
    }

    /** What was counted so far, every kind (any thread). */
    synchronized List<OperationStats> stats() {
        List<OperationStats> stats = new ArrayList<>(byKind.size());
        byKind.forEach((kind, counts) -> {
            List<Long> buckets = new ArrayList<>(counts.buckets.length);
            for (long bucket : counts.buckets) buckets.add(bucket);
            stats.add(new OperationStats(kind, counts.succeeded, counts.failed, counts.totalMillis / 1000.0, buckets));
        });
        return stats;
    }

    private static final class Counts {
        long succeeded;
        long failed;
        long totalMillis;
        /** Cumulative: each counts the operations that took at most its bound. */
        final long[] buckets = new long[OperationStats.BUCKET_SECONDS.size()];
    }
}
