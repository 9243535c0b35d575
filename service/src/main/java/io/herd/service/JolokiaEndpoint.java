package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.lifecycle.LifeCycle;
import com.sun.net.httpserver.HttpServer;
import org.jolokia.jvmagent.JolokiaServer;
import org.jolokia.jvmagent.JolokiaServerConfig;
import org.jolokia.server.core.service.api.LogHandler;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;

/**
 * herd's MBeans over HTTP: an embedded Jolokia agent, started and stopped with the service.
 *
 * <p>Never open: basic auth is always on, for the service's two {@link Users} — the operator,
 * and a monitor who may only look — and the shipped access policy is loaded explicitly: exec
 * only on herd's own MBeans, nothing on those that dump the heap or record the JVM. What Jolokia
 * leaves open is closed around it: every context requires a user, no request may come from
 * another site, and none can stall the endpoint ({@link ManagementHttpServer}); herd's
 * operations take only arguments that match their signature, and only the operator may act
 * ({@link RequestChecks}). Jolokia's JSR-160 proxy and multicast discovery are left out of the
 * build.
 */
final class JolokiaEndpoint extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(JolokiaEndpoint.class.getName());

    private static final String REALM = "herd";

    private final HerdConfig.Jolokia config;
    private final Users users;
    /** Served on the same server, to the same users: GET /metrics. */
    private final MetricsEndpoint metrics;
    private JolokiaServer server;
    private ManagementHttpServer http;
    /** HTTPS's context when herd.jolokia.ssl is on; null for plain HTTP. */
    private SSLContext tls;

    JolokiaEndpoint(HerdConfig.Jolokia config, Users users, MetricsEndpoint metrics) {
        this.config = config;
        this.users = users;
        this.metrics = metrics;
    }

    /** Opens the TLS keystore, if any, so that a wrong password or a keystore without a key stops the service before it starts. */
    synchronized void prepare() throws ConfigException {
        if (config.ssl() != null && tls == null) tls = ServerTls.context(config.ssl());
    }

    @Override
    protected void doStart() throws IOException, ConfigException {
        prepare();
        if (!Files.isRegularFile(config.policy())) {
            LOG.log(Level.WARNING, "no Jolokia access policy at {0}: Jolokia will deny every request", config.policy());
        }
        Map<String, String> settings = new HashMap<>();
        settings.put("policyLocation", config.policy().toUri().toString());
        settings.put("discoveryEnabled", "false");
        settings.put("agentId", "herd-" + ProcessHandle.current().pid());
        // Bounds on one answer, which Jolokia builds whole in the heap: how deep a value is
        // followed, how many elements of a collection, how many objects in all (past them the
        // answer is cut, and says so).
        settings.put("maxDepth", "10");
        settings.put("maxCollectionSize", "1000");
        settings.put("maxObjects", "10000");
        try {
            // herd's own HTTP server, so that its guards cover every context Jolokia opens; Jolokia
            // is given no user, so it sets no authenticator of its own.
            http = ManagementHttpServer.bind(new InetSocketAddress(config.host(), config.port()), new PasswordAuthenticator(REALM, users), tls);
            server = new StrictJolokiaServer(http, new JolokiaServerConfig(settings), new JolokiaLog());
            server.start(false);
            http.createContext(MetricsEndpoint.PATH, metrics);
            http.start();
        } catch (IOException | RuntimeException e) {
            doStop(); // the port and the threads are not left behind for a retry to trip on
            throw e;
        }
        // scripts read the URL up to the first space of this line: it stays as it is
        LOG.log(Level.INFO, "Jolokia on {0} (users {1} and {2})", url(), Role.OPERATOR.user(), Role.MONITOR.user());
        LOG.log(Level.INFO, "Prometheus metrics on {0} (users {1} and {2})", metricsUrl(), Role.OPERATOR.user(), Role.MONITOR.user());
    }

    @Override
    protected void doStop() {
        try {
            if (server != null) server.stop();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Jolokia did not stop cleanly: {0}", e.toString());
        } finally {
            if (http != null) http.stop(0); // its dispatcher thread is not a daemon: it must end
            server = null;
            http = null;
        }
    }
    /** Jolokia with herd's {@link RequestChecks} ahead of its own handler. */
    private static final class StrictJolokiaServer extends JolokiaServer {
        StrictJolokiaServer(HttpServer http, JolokiaServerConfig config, LogHandler log) {
            super(http, config, log);
            addService(new RequestChecks());
        }
    }

    /** Jolokia's own messages into herd's log, rather than onto stdout. */
    private static final class JolokiaLog implements LogHandler {
        private static final System.Logger JOLOKIA = System.getLogger("org.jolokia");

        @Override
        public void debug(String message) {
            JOLOKIA.log(Level.DEBUG, message);
        }

        @Override
        public void info(String message) {
            JOLOKIA.log(Level.INFO, message);
        }

        @Override
        public void error(String message, Throwable error) {
            JOLOKIA.log(Level.ERROR, message, error);
        }

        @Override
        public boolean isDebug() {
            return JOLOKIA.isLoggable(Level.DEBUG);
        }
    }

    /** Where it listens, e.g. http://127.0.0.1:8778/jolokia/ (https with herd.jolokia.ssl). */
    String url() {
        return origin() + "/jolokia/";
    }

    /** Where Prometheus scrapes, e.g. http://127.0.0.1:8778/metrics. */
    String metricsUrl() {
        return origin() + MetricsEndpoint.PATH;
    }

    private String origin() {
        InetSocketAddress address = http.getAddress();
        String host = address.getAddress().getHostAddress();
        return (tls == null ? "http" : "https") + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
