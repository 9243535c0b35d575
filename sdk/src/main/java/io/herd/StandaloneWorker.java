package io.herd;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/** The SDK when no herd master is around: the app binds its own port. */
final class StandaloneWorker extends HerdWorker {
    private final ServerSocketChannel server;

    StandaloneWorker(InetSocketAddress address) throws IOException {
        server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(address, 1024);
    }

    @Override
    public SocketChannel accept() throws IOException {
        return server.accept();
    }

    @Override
    public void ready() {
    }

    @Override
    public void onShutdown(Runnable drain) {
        Runtime.getRuntime().addShutdownHook(new Thread(new ShutdownHook(drain), "herd-shutdown"));
    }

    /** Stops accepting, then drains. A class, not a lambda: apps call onShutdown as they start, when a first lambda costs milliseconds. */
    private final class ShutdownHook implements Runnable {
        private final Runnable drain;

        ShutdownHook(Runnable drain) {
            this.drain = drain;
        }

        @Override
        public void run() {
            close();
            drain.run();
        }
    }

    @Override
    public boolean isManaged() {
        return false;
    }

    @Override
    public String app() {
        return "standalone";
    }

    @Override
    public int instance() {
        return 0;
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // Closing a listening socket has nothing to report that the caller could act on.
        }
    }
}
