package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import javax.rmi.ssl.SslRMIClientSocketFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.rmi.RemoteException;
import java.rmi.registry.LocateRegistry;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The JMX connector with {@code herd.jmx.ssl = true}: registry and connector answer TLS only,
 * with the key from a PKCS12 keystore made here by the JDK's keytool; a client that trusts the
 * certificate (JConsole with {@code -J-Djavax.net.ssl.trustStore=...}) reads and operates.
 */
@Timeout(120)
class JmxTlsTest {
    private static final String OPERATOR_PASSWORD = "operator-secret-1";
    private static final String STORE_PASSWORD = "keystore-secret-3";

    @TempDir
    static Path dir;
    private static Path keystore;
    private static Path truststore;
    private static int port;
    private static HerdService service;

    @BeforeAll
    static void start() throws Exception {
        TestKeystores stores = TestKeystores.make(dir, STORE_PASSWORD);
        keystore = stores.keystore();
        truststore = stores.truststore();
        Path passwordFile = Files.writeString(dir.resolve("keystore.password"), STORE_PASSWORD + "\n");
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        service = new HerdService(HelloCluster.config(1, Map.of("herd.jmx.port", Integer.toString(port), "herd.jmx.ssl", "true",
                "herd.jmx.ssl.keystore", keystore.toString(), "herd.jmx.ssl.keystore.password.file", passwordFile.toString(),
                "herd.jolokia.password", OPERATOR_PASSWORD)));
        service.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (service != null) service.stop();
    }

    @Test
    void aClientTrustingTheCertificateReadsAndOperates() throws Exception {
        String printed = JavaMain.run(TlsJmxClient.class,
                List.of("-Djavax.net.ssl.trustStore=" + truststore, "-Djavax.net.ssl.trustStorePassword=" + STORE_PASSWORD),
                "127.0.0.1", Integer.toString(port), "herd", OPERATOR_PASSWORD);
        assertThat(printed, containsString("App: hello"));
        assertThat(printed, containsString("scaleBy: true"));
    }

    @Test
    void aClientWithoutTlsGetsNothing() {
        assertThrows(RemoteException.class, () -> LocateRegistry.getRegistry("127.0.0.1", port).list());
        assertThrows(IOException.class, () -> JMXConnectorFactory.connect(new JMXServiceURL(service.jmxUrl()),
                Map.of(JMXConnector.CREDENTIALS, new String[] {"herd", OPERATOR_PASSWORD})));
    }

    @Test
    void aClientThatDoesNotTrustTheCertificateGetsNothing() {
        // this JVM's default trust store: the JDK's CA certificates, not the self-signed one
        assertThrows(RemoteException.class, () -> LocateRegistry.getRegistry("127.0.0.1", port, new SslRMIClientSocketFactory()).list());
    }

    @Test
    void aKeystoreThatCannotServeStopsTheServiceBeforeItStarts() throws Exception {
        ConfigException wrongPassword = assertThrows(ConfigException.class,
                () -> new JmxConnector(jmx(keystore, "not-the-password"), null).prepare());
        assertThat(wrongPassword.getMessage(), containsString("herd.jmx.ssl.keystore: cannot open " + keystore + " with the configured password"));
        ConfigException certificateOnly = assertThrows(ConfigException.class,
                () -> new JmxConnector(jmx(truststore, STORE_PASSWORD), null).prepare());
        assertThat(certificateOnly.getMessage(), containsString(truststore + " holds no private key"));
        Path notAKeystore = Files.writeString(dir.resolve("not-a-keystore.p12"), "hello");
        assertThat(assertThrows(ConfigException.class, () -> new JmxConnector(jmx(notAKeystore, STORE_PASSWORD), null).prepare()).getMessage(),
                containsString("herd.jmx.ssl.keystore: cannot open " + notAKeystore));
    }

    private static HerdConfig.Jmx jmx(Path keystore, String password) {
        return new HerdConfig.Jmx("127.0.0.1", port, new HerdConfig.Tls("herd.jmx.ssl", keystore, password, null));
    }
}
