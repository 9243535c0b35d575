package io.herd.service;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server key and certificate for TLS tests, made by the JDK's keytool: a PKCS12 keystore with
 * the key (for 127.0.0.1), and a trust store holding the certificate alone, as a client would.
 *
 * @param keystore   the server's key and certificate
 * @param truststore the certificate, for a client to trust
 * @param password   both stores' password
 */
record TestKeystores(Path keystore, Path truststore, String password) {
    static TestKeystores make(Path dir, String password) throws IOException, InterruptedException {
        Path keystore = dir.resolve("server.p12");
        Path truststore = dir.resolve("trust.p12");
        keytool("-genkeypair", "-alias", "herd", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "san=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", password);
        Path certificate = dir.resolve("server.pem");
        keytool("-exportcert", "-rfc", "-alias", "herd", "-keystore", keystore.toString(), "-storepass", password, "-file", certificate.toString());
        keytool("-importcert", "-noprompt", "-alias", "herd", "-file", certificate.toString(), "-storetype", "PKCS12",
                "-keystore", truststore.toString(), "-storepass", password);
        return new TestKeystores(keystore, truststore, password);
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        command.addAll(List.of(args));
        Process keytool = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!keytool.waitFor(60, TimeUnit.SECONDS)) {
            keytool.destroyForcibly();
            throw new AssertionError("keytool did not end within 60 s");
        }
        String output = new String(keytool.getInputStream().readAllBytes());
        if (keytool.exitValue() != 0) throw new AssertionError("keytool " + String.join(" ", args) + " failed:\n" + output);
    }
}
