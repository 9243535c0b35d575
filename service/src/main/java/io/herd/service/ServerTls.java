package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.rmi.server.RMIServerSocketFactory;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Collections;

/**
 * TLS for the management endpoints ({@code herd.jmx.ssl}, {@code herd.jolokia.ssl}): the server's
 * key from the configured keystore, opened when the service is prepared so that a wrong password
 * stops it before it starts. For JMX, TLS server sockets on {@code herd.jmx.host} serve the
 * registry and the connector alike, as the JDK's agent gives them with
 * {@code com.sun.management.jmxremote.registry.ssl}; clients connect with the JDK's
 * {@code SslRMIClientSocketFactory} and trust the certificate through {@code javax.net.ssl.trustStore}.
 */
final class ServerTls {
    private ServerTls() {
    }

    /** The server's TLS context: the keystore opened with its password, and its private key checked for. */
    static SSLContext context(HerdConfig.Tls ssl) throws ConfigException {
        char[] password = password(ssl);
        KeyStore keystore;
        try {
            keystore = KeyStore.getInstance(ssl.keystore().toFile(), password);
        } catch (IOException | GeneralSecurityException e) {
            throw new ConfigException(ssl.key() + ".keystore: cannot open " + ssl.keystore()
                    + " with the configured password as a PKCS12 keystore (" + e.getMessage() + ")", e);
        }
        try {
            boolean hasKey = false;
            for (String alias : Collections.list(keystore.aliases())) hasKey |= keystore.isKeyEntry(alias);
            if (!hasKey) {
                throw new ConfigException(ssl.key() + ".keystore: " + ssl.keystore()
                        + " holds no private key: TLS needs the server's key with its certificate, not a certificate alone");
            }
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keystore, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new ConfigException(ssl.key() + ".keystore: cannot use the key in " + ssl.keystore() + " (" + e.getMessage() + ")", e);
        }
    }

    private static char[] password(HerdConfig.Tls ssl) throws ConfigException {
        if (ssl.keystorePassword() != null) return ssl.keystorePassword().toCharArray();
        try {
            return SecretFile.read(ssl.keystorePasswordFile(), "the keystore's password file").toCharArray();
        } catch (IOException e) {
            throw new ConfigException(ssl.key() + ".keystore.password.file: " + e.getMessage(), e);
        }
    }

    /**
     * JMX's TLS server sockets on one address. A record, so that the registry's and the connector's
     * factories are equal and RMI serves both on one port.
     */
    record ServerSockets(InetAddress address, SSLContext context) implements RMIServerSocketFactory {
        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return context.getServerSocketFactory().createServerSocket(port, 50, address);
        }
    }
}
