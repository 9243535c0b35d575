package io.herd.service;

import io.herd.config.HerdConfig;
import io.herd.config.Settings;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The service's two management users and their passwords, for Jolokia and the JMX connector
 * alike: {@code herd}, the operator, and {@code herd-monitor}, who may only look.
 *
 * <p>Each password is the configured one, or else read from its file, which the first start
 * makes with a random password, readable by the service's user only (0600). Read once, by
 * {@link #prepare} (in a daemon's init, which runs as the service's user already); until then
 * nobody is authenticated.
 */
final class Users {
    private static final System.Logger LOG = System.getLogger(Users.class.getName());
    /** 18 random bytes: 24 characters of base64, 144 bits. */
    private static final int GENERATED_BYTES = 18;

    private final HerdConfig.Jolokia config;
    /** {@code user:password} of each role, as a Basic header carries it; empty until prepared. */
    private volatile Map<Role, byte[]> credentials = Map.of();

    Users(HerdConfig.Jolokia config) {
        this.config = config;
    }

    /** Reads (or makes, at first start) both passwords, once. */
    synchronized void prepare() throws IOException {
        if (!credentials.isEmpty()) return;
        Map<Role, byte[]> read = new EnumMap<>(Role.class);
        read.put(Role.OPERATOR, credentials(Role.OPERATOR, passwordOf(config.password(), config.passwordFile(), Settings.JOLOKIA_PASSWORD.key())));
        read.put(Role.MONITOR, credentials(Role.MONITOR,
                passwordOf(config.monitorPassword(), config.monitorPasswordFile(), Settings.JOLOKIA_MONITOR_PASSWORD.key())));
        credentials = read;
    }

    private static byte[] credentials(Role role, String password) {
        return (role.user() + ":" + password).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The role whose user and password these are; empty when they match none. Every role is
     * compared, in full and in constant time, whatever matches: how long a refusal takes says
     * nothing about how much of a guess was right, nor which user exists.
     */
    Optional<Role> authenticate(byte[] userColonPassword) {
        Role matched = null;
        for (Map.Entry<Role, byte[]> entry : credentials.entrySet()) {
            if (MessageDigest.isEqual(userColonPassword, entry.getValue())) matched = entry.getKey();
        }
        return Optional.ofNullable(matched);
    }

    Optional<Role> authenticate(String user, String password) {
        if (user == null || password == null) return Optional.empty();
        return authenticate((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String passwordOf(String configured, Path file, String key) throws IOException {
        if (configured != null) return configured;
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) generate(file, key);
        if (!Files.isReadable(file)) throw new IOException("the service's user may not read the password file " + file);
        return SecretFile.read(file, "the password file");
    }

    private static void generate(Path file, String key) throws IOException {
        byte[] random = new byte[GENERATED_BYTES];
        new SecureRandom().nextBytes(random);
        String generated = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        try {
            Files.createDirectories(file.getParent());
            // createFile is O_CREAT|O_EXCL: it never follows a link planted at the path.
            Files.writeString(Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))),
                    generated + "\n", StandardCharsets.UTF_8);
            LOG.log(Level.INFO, "generated a management password into {0} (readable by this user only)", file);
        } catch (FileAlreadyExistsException raced) {
            // another start made it meanwhile: use that one
        } catch (AccessDeniedException e) {
            throw new IOException("the service's user may not create the password file " + file
                    + ": make its directory writable by that user, or set " + key);
        }
    }
}
