package io.herd.service;

import io.herd.service.cli.CliRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A password file in a directory the service's user controls (var/) is read only as a file of its
 * own: a link planted there cannot make root — running the CLI, or jsvc's init with its
 * CAP_DAC_READ_SEARCH — read a file only root may, and send it on as a password.
 */
@Timeout(60)
class SecretFileTest {
    @TempDir
    Path dir;

    @Test
    void aPasswordFileOfItsOwnIsRead() throws Exception {
        assertThat(SecretFile.read(Files.writeString(dir.resolve("password"), "  s3cret-password \n"), "the password file"),
                is("s3cret-password"));
    }

    @Test
    void aLinkAFifoAHardLinkOrAHugeFileIsRefused() throws Exception {
        Path rootsSecret = Files.writeString(dir.resolve("shadow"), "root-only-secret\n");
        Path symlink = Files.createSymbolicLink(dir.resolve("linked.password"), rootsSecret);
        assertThat(assertThrows(IOException.class, () -> SecretFile.read(symlink, "the password file")).getMessage(),
                containsString("is a symbolic link"));
        Path hardLink = Files.createLink(dir.resolve("hard.password"), rootsSecret);
        assertThat(assertThrows(IOException.class, () -> SecretFile.read(hardLink, "the password file")).getMessage(),
                containsString("has another name"));
        Path fifo = dir.resolve("fifo.password");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor(), is(0));
        assertThat(assertThrows(IOException.class, () -> SecretFile.read(fifo, "the password file")).getMessage(),
                containsString("not a regular file"));
        Path huge = Files.writeString(dir.resolve("huge.password"), "x".repeat(SecretFile.MAX_BYTES + 1));
        assertThat(assertThrows(IOException.class, () -> SecretFile.read(huge, "the password file")).getMessage(),
                containsString("over " + SecretFile.MAX_BYTES + " bytes"));
    }

    @Test
    void theCliSendsNothingWhenItsPasswordFileIsALink() throws Exception {
        Path rootsSecret = Files.writeString(dir.resolve("shadow"), "root-only-secret\n");
        Path planted = Files.createSymbolicLink(dir.resolve("jolokia.password"), rootsSecret);
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            // whoever owns var/ could also listen where the CLI connects, to read what it sends
            CliRunner.Run list = CliRunner.run("--url", "http://127.0.0.1:" + listener.getLocalPort() + "/jolokia/",
                    "--password-file", planted.toString(), "list");
            assertThat(list.exit(), is(3));
            assertThat(list.err(), containsString("is a symbolic link"));
            listener.setSoTimeout(500);
            assertThrows(SocketTimeoutException.class, listener::accept, "the CLI connected, with the secret in its header");
        }
    }
}
