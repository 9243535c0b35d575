package io.herd.engine;

import io.herd.config.AppConfig.Proxy.Header;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The PROXY protocol header (HAProxy's, versions 1 and 2) a relayed connection starts with, so
 * the worker learns the client's address and the address it connected to.
 */
final class ProxyHeader {
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyHeader() {
    }

    /** Puts the header for {@code client}'s connection into {@code buffer}. */
    static void write(Header header, SocketChannel client, ByteBuffer buffer) throws IOException {
        write(header, (InetSocketAddress) client.getRemoteAddress(), (InetSocketAddress) client.getLocalAddress(), buffer);
    }

    /** Puts the header for a connection from {@code source} to {@code destination} into {@code buffer}. */
    static void write(Header header, InetSocketAddress source, InetSocketAddress destination, ByteBuffer buffer) {
        switch (header) {
            case V1 -> v1(source, destination, buffer);
            case V2 -> v2(source, destination, buffer);
            case NONE -> { }
        }
    }

    private static void v1(InetSocketAddress source, InetSocketAddress destination, ByteBuffer buffer) {
        boolean v4 = source.getAddress() instanceof Inet4Address;
        String line = "PROXY " + (v4 ? "TCP4 " : "TCP6 ") + source.getAddress().getHostAddress() + " "
                + destination.getAddress().getHostAddress() + " " + source.getPort() + " " + destination.getPort() + "\r\n";
        buffer.put(line.getBytes(StandardCharsets.US_ASCII));
    }

    private static void v2(InetSocketAddress source, InetSocketAddress destination, ByteBuffer buffer) {
        byte[] from = source.getAddress().getAddress();
        byte[] to = destination.getAddress().getAddress();
        buffer.put(V2_SIGNATURE);
        buffer.put((byte) 0x21); // version 2, PROXY command
        buffer.put((byte) (from.length == 4 ? 0x11 : 0x21)); // TCP over IPv4 or IPv6
        buffer.putShort((short) (2 * from.length + 4));
        buffer.put(from).put(to);
        buffer.putShort((short) source.getPort()).putShort((short) destination.getPort());
    }
}
