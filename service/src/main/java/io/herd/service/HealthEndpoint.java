package io.herd.service;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.lifecycle.LifeCycle;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The balancers' HTTP health endpoint ({@code herd.health.listen}), for those without HAProxy's
 * agent check: cloud load balancers, Kubernetes readiness probes. {@code GET /health/<app>} (or
 * HEAD) answers 200 {@code up} when the app serves, 503 {@code drain}, {@code maint} or
 * {@code down} otherwise ({@link Availability}), 404 for an app herd does not know, 405 for any
 * other method. It tells nothing else: no list of apps, no version, no weight.
 *
 * <p>Unauthenticated and read-only, so its own listener, not Jolokia's (which is authenticated
 * and can do everything). Hostile clients are bounded as on the management endpoint
 * ({@link JdkServerLimits}: request head size and time, open connections), and each request is
 * served on a virtual thread: one that sends a byte and then nothing holds none that matters.
 */
final class HealthEndpoint extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(HealthEndpoint.class.getName());
    private static final String PREFIX = "/health/";
    private static final int BACKLOG = 64;

    private final InetSocketAddress configured;
    private final BalancerView view;
    private HttpServer server;
    private ExecutorService executor;

    HealthEndpoint(InetSocketAddress configured, BalancerView view) {
        this.configured = configured;
        this.view = view;
    }

    /**
     * Binds the listening socket (as the service prepares: maybe as root).
     *
     * @throws ConfigException naming {@code key} and {@code source} when it cannot be bound
     */
    synchronized void bind(String key, Path source) throws ConfigException {
        if (server != null) return;
        JdkServerLimits.applyHttp(); // before the JDK's server reads them, once per JVM
        try {
            server = HttpServer.create(configured, BACKLOG);
        } catch (IOException e) {
            throw new ConfigException(source + ": " + key + ": cannot listen on " + configured.getHostString() + ":" + configured.getPort()
                    + ": " + e.getMessage(), e);
        }
        executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("herd-health-", 0).factory());
        server.setExecutor(executor);
        server.createContext("/", this::handle);
    }

    /** Where it listens, once bound. */
    synchronized InetSocketAddress address() {
        return server == null ? null : server.getAddress();
    }

    @Override
    protected synchronized void doStart() {
        if (server == null) throw new IllegalStateException("the health endpoint was not bound");
        server.start();
        LOG.log(Level.INFO, "health endpoint for balancers on http://{0}:{1}/health/<app>", server.getAddress().getHostString(),
                Integer.toString(server.getAddress().getPort()));
    }

    @Override
    protected void doStop() {
        close();
    }

    /** Closes the socket (and ends the requests' threads), started or not: the service stops, or could not start. */
    synchronized void close() {
        if (server == null) return;
        try {
            server.stop(0);
        } catch (IllegalStateException notStarted) {
            // bound, never started: stop() closed the socket all the same
        } finally {
            executor.shutdownNow();
            server = null;
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            boolean head = method.equals("HEAD");
            if (!head && !method.equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                answer(exchange, 405, "method not allowed", false);
                return;
            }
            String path = exchange.getRequestURI().getRawPath();
            String app = path != null && path.startsWith(PREFIX) ? path.substring(PREFIX.length()) : "";
            Availability now = HerdConfig.isAppName(app) ? view.of(app) : null;
            if (now == null) {
                answer(exchange, 404, "unknown", head);
                return;
            }
            answer(exchange, now.serving() ? 200 : 503, now.state().word(), head);
        }
    }

    private static void answer(HttpExchange exchange, int status, String word, boolean head) throws IOException {
        byte[] body = (word + "\n").getBytes(StandardCharsets.US_ASCII);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=us-ascii");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if (head) {
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
