package io.herd.service;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reads a password from its file — the management users' and a keystore's — as a file that may
 * sit in a directory someone else controls: the service's user owns {@code var/}, and root
 * reads from there too (jsvc's init holds CAP_DAC_READ_SEARCH, and root runs the CLI). A link
 * planted there must not make either read, and pass on, a file only root may read.
 *
 * <p>So the file must be a regular file with one name (no symbolic link: it is opened with
 * O_NOFOLLOW; no second hard link to someone else's file), of at most {@value #MAX_BYTES} bytes.
 */
public final class SecretFile {
    static final int MAX_BYTES = 4096;

    private SecretFile() {
    }

    /**
     * The file's text, stripped; {@code IOException} saying what is wrong otherwise.
     *
     * @param what what the file is, for messages: "the password file"
     */
    public static String read(Path file, String what) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new IOException("cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
        if (attributes.isSymbolicLink()) throw new IOException(what + " " + file + " is a symbolic link: it must be a file of its own");
        if (!attributes.isRegularFile()) throw new IOException(what + " " + file + " is not a regular file");
        if ((int) Files.getAttribute(file, "unix:nlink", LinkOption.NOFOLLOW_LINKS) != 1) {
            throw new IOException(what + " " + file + " has another name (a hard link): it must be a file of its own");
        }
        if (attributes.size() > MAX_BYTES) throw new IOException(what + " " + file + " is over " + MAX_BYTES + " bytes: not a password");
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException e) {
            throw new IOException("cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length > MAX_BYTES) throw new IOException(what + " " + file + " is over " + MAX_BYTES + " bytes: not a password");
        String text = new String(bytes, StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) throw new IOException(what + " " + file + " is empty");
        return text;
    }
}
