package io.herd.service;

import java.util.Map;

/**
 * The limits of the JDK's own servers that herd's management endpoints run on: the HTTP server
 * ({@code com.sun.net.httpserver}, Jolokia's) and RMI's TCP transport (the JMX connector's). The
 * JDK reads them from system properties — its own implementation's, not a standard API — once
 * per JVM, when its first server of the kind starts: so {@link #applyHttp} and {@link #applyRmi}
 * must run before that. A value the operator set on the command line ({@code -D...}) is left as
 * it is. {@code JolokiaStallTest} and {@code JmxConnectorTest} prove they take effect here.
 *
 * <p>Without them the JDK waits for ever, or for two hours: a client that sends one byte of a
 * request and then nothing keeps its connection, and on RMI a thread, until it closes.
 */
final class JdkServerLimits {
    /** Seconds a request's head and body may take to arrive, counted from its first byte (a connection that sends nothing is closed after as long). */
    static final int REQUEST_SECONDS = 5;
    /** Seconds a keep-alive connection may sit idle between requests. */
    static final int IDLE_SECONDS = 30;
    /** Connections open at once; past it, new ones are closed as soon as accepted. */
    static final int MAX_CONNECTIONS = 256;
    /** Bytes of request headers: Jolokia's requests carry a handful. */
    static final int MAX_HEADER_BYTES = 32 * 1024;
    /**
     * Bytes of a refused request's body (413: over the size herd reads) read and thrown away after
     * the answer, before the connection closes: closed with bytes unread, the connection is reset,
     * and the reset can destroy the answer before the client reads it. The JDK's default is 64 KiB.
     */
    static final int DRAINED_BODY_BYTES = 16 * 1024 * 1024;

    /** RMI: threads serving JMX connections at once; past them, a new connection is closed. */
    static final int RMI_MAX_THREADS = 64;
    /** RMI: milliseconds a connection may wait for its next call (JConsole polls every few seconds). */
    static final int RMI_READ_TIMEOUT_MILLIS = 120_000;

    private static final Map<String, String> HTTP = Map.of(
            "sun.net.httpserver.maxReqTime", Integer.toString(REQUEST_SECONDS),
            "sun.net.httpserver.idleInterval", Integer.toString(IDLE_SECONDS),
            "jdk.httpserver.maxConnections", Integer.toString(MAX_CONNECTIONS),
            "sun.net.httpserver.maxReqHeaderSize", Integer.toString(MAX_HEADER_BYTES),
            "sun.net.httpserver.drainAmount", Integer.toString(DRAINED_BODY_BYTES));

    private static final Map<String, String> RMI = Map.of(
            "sun.rmi.transport.tcp.maxConnectionThreads", Integer.toString(RMI_MAX_THREADS),
            "sun.rmi.transport.tcp.readTimeout", Integer.toString(RMI_READ_TIMEOUT_MILLIS));

    private JdkServerLimits() {
    }

    static void applyHttp() {
        apply(HTTP);
    }

    static void applyRmi() {
        apply(RMI);
    }

    private static synchronized void apply(Map<String, String> limits) {
        limits.forEach((key, value) -> {
            if (System.getProperty(key) == null) System.setProperty(key, value);
        });
    }
}
