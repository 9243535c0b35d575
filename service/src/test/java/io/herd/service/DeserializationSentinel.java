package io.herd.service;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serial;
import java.io.Serializable;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A serializable class that counts each time it is deserialized in this JVM: sent to the
 * service (which runs in the test's JVM) where only JMX's own types belong, it shows whether
 * the service ran a foreign class's {@code readObject} — as a gadget chain would need.
 */
final class DeserializationSentinel implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;
    static final AtomicInteger READS = new AtomicInteger();

    @Serial
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        READS.incrementAndGet();
    }
}
