package io.herd.service;

import java.util.Map;

/**
 * The limits of the JDK's HTTP server ({@code com.sun.net.httpserver}), which herd's management
 * endpoint runs on. The JDK reads them from system properties — its own implementation's, not a
 * standard API — once per JVM, when its first server is created: so {@link #apply} must run
 * before that. A value the operator set on the command line ({@code -D...}) is left as it is.
 * {@code JolokiaStallTest} proves they take effect on the JDK in use.
 *
 * <p>Without them the JDK waits for ever: a client that sends one byte of a request and then
 * nothing keeps its connection, and its thread, until it closes.
 */
final class JdkHttpLimits {
    /** Seconds a request's head and body may take to arrive, counted from its first byte (a connection that sends nothing is closed after as long). */
    static final int REQUEST_SECONDS = 5;
    /** Seconds a keep-alive connection may sit idle between requests. */
    static final int IDLE_SECONDS = 30;
    /** Connections open at once; past it, new ones are closed as soon as accepted. */
    static final int MAX_CONNECTIONS = 256;
    /** Bytes of request headers: Jolokia's requests carry a handful. */
    static final int MAX_HEADER_BYTES = 32 * 1024;

    private static final Map<String, String> LIMITS = Map.of(
            "sun.net.httpserver.maxReqTime", Integer.toString(REQUEST_SECONDS),
            "sun.net.httpserver.idleInterval", Integer.toString(IDLE_SECONDS),
            "jdk.httpserver.maxConnections", Integer.toString(MAX_CONNECTIONS),
            "sun.net.httpserver.maxReqHeaderSize", Integer.toString(MAX_HEADER_BYTES));

    private JdkHttpLimits() {
    }

    static synchronized void apply() {
        LIMITS.forEach((key, value) -> {
            if (System.getProperty(key) == null) System.setProperty(key, value);
        });
    }
}
