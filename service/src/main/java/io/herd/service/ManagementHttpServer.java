package io.herd.service;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import javax.net.ssl.SSLContext;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/**
 * The HTTP server Jolokia is given. Every context created on it, whoever creates it:
 * <ul>
 *   <li>refuses what a browser must not send it ({@link HttpRequestGuard}: cross-site requests,
 *   POSTs that are not JSON, oversized bodies), before anything else;</li>
 *   <li>requires one of the {@link Users} (the authenticator);</li>
 *   <li>runs its handler as that user's {@link Caller}, which {@link RequestChecks} holds each
 *   Jolokia request to, and only {@value #CONCURRENT_REQUESTS} such handlers at once: Jolokia
 *   builds each answer whole in the heap, and a caller may not make the master run out of it by
 *   asking many at a time.</li>
 * </ul>
 *
 * <p>Why not Jolokia's own authentication: Jolokia 2.4's JVM agent protects only its main context.
 * It also opens {@code /jolokia/config}, meant for reading the agent's settings before logging
 * in, with the same request handler and no authentication, so a request POSTed there runs
 * unauthenticated — an exec included. Here no context of the endpoint is open.
 *
 * <p>It cannot be stalled: requests are served on virtual threads, so a client that sends a byte
 * and then nothing holds no thread anyone else needs, and {@link JdkServerLimits} closes it once
 * its request has taken too long, and bounds the open connections.
 */
final class ManagementHttpServer extends HttpServer {
    private static final int BACKLOG = 64;
    /** Requests Jolokia handles at once; others wait their turn (on virtual threads, at no cost). */
    static final int CONCURRENT_REQUESTS = 4;

    private final HttpServer server;
    private final Authenticator authenticator;
    private final HttpRequestGuard guard;
    private final ExecutorService executor;
    private final Semaphore handling = new Semaphore(CONCURRENT_REQUESTS, true);

    private ManagementHttpServer(HttpServer server, Authenticator authenticator, HttpRequestGuard guard, ExecutorService executor) {
        this.server = server;
        this.authenticator = authenticator;
        this.guard = guard;
        this.executor = executor;
    }

    /**
     * A server bound to {@code address}, not yet started.
     *
     * @param tls HTTPS's context; null for plain HTTP
     */
    static ManagementHttpServer bind(InetSocketAddress address, Authenticator authenticator, SSLContext tls) throws IOException {
        JdkServerLimits.applyHttp(); // before the JDK's server reads them, once per JVM
        HttpServer server;
        if (tls == null) {
            server = HttpServer.create(address, BACKLOG);
        } else {
            HttpsServer https = HttpsServer.create(address, BACKLOG);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        }
        ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("herd-jolokia-", 0).factory());
        server.setExecutor(executor);
        return new ManagementHttpServer(server, authenticator, new HttpRequestGuard(tls == null ? "http" : "https", ownNames(address)), executor);
    }

    /** The names a request may call the endpoint by, besides an address and localhost: the configured host, this host's names. */
    private static Set<String> ownNames(InetSocketAddress address) {
        Set<String> names = new HashSet<>();
        names.add(address.getHostString().toLowerCase(Locale.ROOT));
        try {
            InetAddress self = InetAddress.getLocalHost();
            names.add(self.getHostName().toLowerCase(Locale.ROOT));
            names.add(self.getCanonicalHostName().toLowerCase(Locale.ROOT));
        } catch (IOException unknown) {
            // this host has no name that resolves: addresses and localhost it is
        }
        return names;
    }

    @Override
    public HttpContext createContext(String path, HttpHandler handler) {
        return guarded(server.createContext(path, asCaller(handler)));
    }

    @Override
    public HttpContext createContext(String path) {
        return guarded(server.createContext(path));
    }

    private HttpContext guarded(HttpContext context) {
        context.getFilters().add(guard); // filters run before the authenticator: a cross-site request never meets a challenge
        context.setAuthenticator(authenticator);
        return context;
    }

    /**
     * {@code handler}, run as the authenticated user's {@link Caller} (unbound, so refused, for
     * anyone else), once one of the {@value #CONCURRENT_REQUESTS} turns is free.
     */
    private HttpHandler asCaller(HttpHandler handler) {
        return exchange -> {
            Optional<Role> role = exchange.getPrincipal() == null ? Optional.empty() : Role.ofUser(exchange.getPrincipal().getUsername());
            try {
                handling.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("stopping", e);
            }
            try {
                if (role.isEmpty()) {
                    handler.handle(exchange);
                    return;
                }
                ScopedValue.where(Caller.CURRENT, new Caller(role.get())).call(() -> {
                    handler.handle(exchange);
                    return null;
                });
            } finally {
                handling.release();
            }
        };
    }

    @Override
    public void removeContext(String path) {
        server.removeContext(path);
    }

    @Override
    public void removeContext(HttpContext context) {
        server.removeContext(context);
    }

    @Override
    public void bind(InetSocketAddress address, int backlog) throws IOException {
        server.bind(address, backlog);
    }

    @Override
    public void start() {
        server.start();
    }

    /** Stops serving and ends the request threads. */
    @Override
    public void stop(int delaySeconds) {
        try {
            server.stop(delaySeconds);
        } finally {
            executor.shutdownNow();
        }
    }

    @Override
    public void setExecutor(Executor executor) {
        throw new UnsupportedOperationException("the management server keeps its own executor");
    }

    @Override
    public Executor getExecutor() {
        return server.getExecutor();
    }

    @Override
    public InetSocketAddress getAddress() {
        return server.getAddress();
    }
}
