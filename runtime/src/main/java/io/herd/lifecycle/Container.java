package io.herd.lifecycle;

import java.util.ArrayList;
import java.util.List;

/**
 * A component made of parts: it starts them in the order they were added and stops them in the
 * reverse order, so what depends on a part is stopped before it. A part that fails to stop does
 * not keep the others running; the first failure is thrown once all have been asked.
 */
public abstract class Container extends LifeCycle {
    private final List<LifeCycle> parts = new ArrayList<>();

    protected final synchronized <T extends LifeCycle> T addPart(T part) {
        parts.add(part);
        return part;
    }

    protected final synchronized void removePart(LifeCycle part) {
        parts.remove(part);
    }

    protected final synchronized List<LifeCycle> parts() {
        return List.copyOf(parts);
    }

    @Override
    protected void doStart() throws Exception {
        for (LifeCycle part : parts()) part.start();
    }

    @Override
    protected void doStop() throws Exception {
        Exception first = null;
        List<LifeCycle> reversed = new ArrayList<>(parts());
        java.util.Collections.reverse(reversed);
        for (LifeCycle part : reversed) {
            try {
                part.stop();
            } catch (Exception e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
