package io.herd.service;

import io.herd.HerdConfig;
import io.herd.lifecycle.LifeCycle;
import com.sun.net.httpserver.HttpServer;
import org.jolokia.jvmagent.JolokiaServer;
import org.jolokia.jvmagent.JolokiaServerConfig;
import org.jolokia.server.core.service.api.LogHandler;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * herd's MBeans over HTTP: an embedded Jolokia agent, started and stopped with the service.
 *
 * <p>Never open: basic auth is always on (the configured password, or one generated at first
 * start into a file only the service's user can read), and the shipped access policy is loaded
 * explicitly — exec only on herd's own MBeans, nothing on those that dump the heap or record the
 * JVM. Requests are served by a fixed pool of threads. Two things Jolokia leaves open are closed:
 * every context requires the password ({@link AuthenticatedHttpServer}), and herd's operations
 * take only arguments that match their signature ({@link RequestChecks}). Jolokia's JSR-160 proxy
 * and multicast discovery are left out of the build.
 */
final class JolokiaEndpoint extends LifeCycle {
    private static final System.Logger LOG = System.getLogger(JolokiaEndpoint.class.getName());

    private static final String REALM = "herd";
    private static final int BACKLOG = 50;

    private final HerdConfig.Jolokia config;
    private JolokiaServer server;
    private HttpServer http;
    private ExecutorService executor;
    private String password;

    JolokiaEndpoint(HerdConfig.Jolokia config) {
        this.config = config;
    }

    @Override
    protected void doStart() throws IOException {
        if (!Files.isRegularFile(config.policy())) {
            LOG.log(Level.WARNING, "no Jolokia access policy at {0}: Jolokia will deny every request", config.policy());
        }
        Map<String, String> settings = new HashMap<>();
        settings.put("policyLocation", config.policy().toUri().toString());
        settings.put("discoveryEnabled", "false");
        settings.put("agentId", "herd-" + ProcessHandle.current().pid());
        // herd's own HTTP server, so that authentication covers every context Jolokia opens (see
        // AuthenticatedHttpServer); Jolokia is given no user, so it sets no authenticator of its own.
        String password = prepare();
        executor = Executors.newFixedThreadPool(config.threads(), Thread.ofPlatform().name("herd-jolokia-", 1).daemon().factory());
        try {
            http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), BACKLOG);
            http.setExecutor(executor);
            server = new StrictJolokiaServer(new AuthenticatedHttpServer(http, new PasswordAuthenticator(REALM, config.user(), password)),
                    new JolokiaServerConfig(settings), new JolokiaLog());
            server.start(false);
            http.start();
        } catch (IOException | RuntimeException e) {
            doStop(); // the port and the threads are not left behind for a retry to trip on
            throw e;
        }
        LOG.log(Level.INFO, "Jolokia on {0} (user {1}{2})", url(), config.user(),
                config.password() == null ? ", password in " + config.passwordFile() : "");
    }

    @Override
    protected void doStop() {
        try {
            if (server != null) server.stop();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Jolokia did not stop cleanly: {0}", e.toString());
        } finally {
            if (http != null) http.stop(0); // its dispatcher thread is not a daemon: it must end
            if (executor != null) executor.shutdownNow();
            server = null;
            http = null;
            executor = null;
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

    /** Where it listens, e.g. http://127.0.0.1:8778/jolokia/. */
    String url() {
        InetSocketAddress address = http.getAddress();
        return "http://" + address.getAddress().getHostAddress() + ":" + address.getPort() + "/jolokia/";
    }

    /**
     * The configured password, else the one in the password file, made at first start. Read once,
     * when the service is prepared (a daemon's init).
     */
    synchronized String prepare() throws IOException {
        if (password == null) password = readOrMakePassword();
        return password;
    }

    private String readOrMakePassword() throws IOException {
        if (config.password() != null) return config.password();
        Path file = config.passwordFile();
        if (!Files.exists(file)) {
            Files.createDirectories(file.getParent());
            byte[] random = new byte[18];
            new SecureRandom().nextBytes(random);
            String generated = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            try {
                Files.writeString(Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))),
                        generated + "\n", StandardCharsets.UTF_8);
                LOG.log(Level.INFO, "generated a Jolokia password into {0} (readable by this user only)", file);
            } catch (FileAlreadyExistsException raced) {
                // another start made it meanwhile: use that one
            } catch (AccessDeniedException e) {
                throw new IOException("the service's user may not create the Jolokia password file " + file
                        + ": make its directory writable by that user, or set herd.jolokia.password");
            }
        }
        if (!Files.isReadable(file)) {
            throw new IOException("the service's user may not read the Jolokia password file " + file);
        }
        String password = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (password.isEmpty()) throw new IOException("the Jolokia password file " + file + " is empty");
        return password;
    }
}
