package io.herd.service;

import com.sun.net.httpserver.Authenticator;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executor;

/**
 * The HTTP server Jolokia is given: every context created on it, whoever creates it, requires the
 * authenticator.
 *
 * <p>Why not Jolokia's own authentication: Jolokia 2.4's JVM agent protects only its main context.
 * It also opens {@code /jolokia/config}, meant for reading the agent's settings before logging
 * in, with the same request handler and no authentication, so a request POSTed there runs
 * unauthenticated — an exec included. Here no context of the endpoint is open.
 */
final class AuthenticatedHttpServer extends HttpServer {
    private final HttpServer server;
    private final Authenticator authenticator;

    AuthenticatedHttpServer(HttpServer server, Authenticator authenticator) {
        this.server = server;
        this.authenticator = authenticator;
    }

    @Override
    public HttpContext createContext(String path, HttpHandler handler) {
        return authenticated(server.createContext(path, handler));
    }

    @Override
    public HttpContext createContext(String path) {
        return authenticated(server.createContext(path));
    }

    private HttpContext authenticated(HttpContext context) {
        context.setAuthenticator(authenticator);
        return context;
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

    @Override
    public void stop(int delaySeconds) {
        server.stop(delaySeconds);
    }

    @Override
    public void setExecutor(Executor executor) {
        server.setExecutor(executor);
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
