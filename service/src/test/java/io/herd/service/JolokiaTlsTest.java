package io.herd.service;

import io.herd.config.ConfigException;
import io.herd.config.HerdConfig;
import io.herd.service.cli.Cli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Jolokia with {@code herd.jolokia.ssl = true}: HTTPS only, with the key from a PKCS12 keystore,
 * so that the users' passwords never cross a network in the clear.
 */
@Timeout(120)
class JolokiaTlsTest {
    private static final String OPERATOR_PASSWORD = "operator-secret-1";
    private static final String STORE_PASSWORD = "keystore-secret-3";

    @TempDir
    static Path dir;
    private static TestKeystores stores;
    private static HerdService service;

    @BeforeAll
    static void start() throws Exception {
        stores = TestKeystores.make(dir, STORE_PASSWORD);
        service = new HerdService(HelloCluster.config(1, Map.of("herd.jolokia.ssl", "true", "herd.jolokia.ssl.keystore",
                stores.keystore().toString(), "herd.jolokia.ssl.keystore.password", STORE_PASSWORD, "herd.jolokia.password", OPERATOR_PASSWORD)));
        service.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (service != null) service.stop();
    }

    private static HttpRequest read(String url) {
        return HttpRequest.newBuilder(URI.create(url + "read/herd:type=Cluster,name=hello/App")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("herd:" + OPERATOR_PASSWORD).getBytes(StandardCharsets.UTF_8)))
                .build();
    }

    @Test
    void aClientTrustingTheCertificateIsServedOverHttps() throws Exception {
        assertThat(service.jolokiaUrl(), startsWith("https://"));
        KeyStore trusted = KeyStore.getInstance(stores.truststore().toFile(), STORE_PASSWORD.toCharArray());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trust.getTrustManagers(), null);
        HttpClient https = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
        assertThat(https.send(read(service.jolokiaUrl()), HttpResponse.BodyHandlers.ofString()).body(), containsString("\"value\":\"hello\""));
    }

    @Test
    void theCliTrustingTheCertificateListsTheAppsOverHttps() throws Exception {
        Path passwordFile = Files.writeString(dir.resolve("operator.password"), OPERATOR_PASSWORD);
        String[] list = {"--url", service.jolokiaUrl(), "--password-file", passwordFile.toString(), "list"};
        // in a JVM of its own, as bin/herd runs it: the trust store is the JVM's, from its options
        String listed = JavaMain.run(Cli.class, List.of("-Djavax.net.ssl.trustStore=" + stores.truststore(),
                "-Djavax.net.ssl.trustStorePassword=" + STORE_PASSWORD), list);
        assertThat(listed, containsString("hello  1"));

        JavaMain.Ended untrusting = JavaMain.runToEnd(Cli.class, List.of(), list);
        assertThat(untrusting.output(), untrusting.exitCode(), is(3));
        assertThat(untrusting.output(), containsString("cannot reach the herd service at " + service.jolokiaUrl()));
    }

    @Test
    void plainHttpAndAnUntrustedCertificateGetNothing() {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        String plain = service.jolokiaUrl().replaceFirst("^https", "http");
        assertThrows(IOException.class, () -> client.send(read(plain), HttpResponse.BodyHandlers.ofString()));
        // the JDK's own CA certificates do not vouch for a self-signed one
        assertThrows(IOException.class, () -> client.send(read(service.jolokiaUrl()), HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void aWrongKeystorePasswordStopsTheServiceBeforeItStarts() throws Exception {
        HerdConfig config = HelloCluster.config(1, Map.of("herd.jolokia.ssl", "true", "herd.jolokia.ssl.keystore", stores.keystore().toString(),
                "herd.jolokia.ssl.keystore.password", "not-the-password"));
        HerdService wrong = new HerdService(config);
        ConfigException refused = assertThrows(ConfigException.class, wrong::prepare);
        assertThat(refused.getMessage(), containsString("herd.jolokia.ssl.keystore: cannot open " + stores.keystore()));
        wrong.stop();
    }
}
