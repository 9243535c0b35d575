package io.herd.engine;

import java.lang.System.Logger.Level;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Who hears a cluster's events of one kind. Added and removed from any thread; told on the
 * thread the event happens on, each in turn, one failing listener not keeping the others from it.
 */
final class Listeners<E> {
    /** Logs as the cluster it was split from, so operators' logging configuration still finds these lines. */
    private static final System.Logger LOG = System.getLogger(Cluster.class.getName());

    private final CopyOnWriteArrayList<Consumer<E>> listeners = new CopyOnWriteArrayList<>();
    /** What failed, for the log: "app: a worker-state listener failed". */
    private final String failure;

    Listeners(String failure) {
        this.failure = failure;
    }

    void add(Consumer<E> listener) {
        listeners.add(listener);
    }

    void remove(Consumer<E> listener) {
        listeners.remove(listener);
    }

    void publish(E event) {
        for (Consumer<E> listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, failure, e);
            }
        }
    }
}
