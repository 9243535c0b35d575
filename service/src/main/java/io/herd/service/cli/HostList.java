package io.herd.service.cli;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The services a CLI verb runs against, from {@code --hosts h1:8778,h2:8778} or from
 * {@code --hosts-file F}: one {@code url [password-file]} a line, blank lines and {@code #}
 * comments ignored. An entry is a bare {@code host:port} ({@code [v6]:port}), which gets the
 * scheme the CLI would use for its own service and the path {@code /jolokia/}, or an http(s) URL.
 *
 * <p>Everything here is typed by a user or read from a file someone else may have written: every
 * entry is checked, and what is wrong is named with where it is (the entry's place in --hosts, or
 * the file and line).
 */
final class HostList {
    /** A service to reach: the name the output calls it by, its Jolokia URL, and its own password file (null: the CLI's usual one). */
    record Host(String name, URI url, Path passwordFile) {
    }

    /** The list cannot be used as given; the message says what is wrong and where. */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    /** A name or an IPv4 address, then a port; or an IPv6 address in brackets, then a port. */
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\\d{1,5})");
    /** More hosts than any operator means to address at once: a bound on a file that is not a host list. */
    private static final int MOST_HOSTS = 1000;

    private final String scheme;
    private final List<Host> hosts = new ArrayList<>();
    /** Each host's name (lower case) → where it was first given, to name both places of a duplicate. */
    private final Map<String, String> seen = new HashMap<>();

    private HostList(boolean https) {
        this.scheme = https ? "https" : "http";
    }

    /** The hosts in {@code --hosts}' comma-separated {@code value}; {@code https}: the scheme for bare host:port entries. */
    static List<Host> fromOption(String value, boolean https) throws Invalid {
        HostList list = new HostList(https);
        String[] entries = value.split(",", -1);
        for (int i = 0; i < entries.length; i++) list.add(entries[i].strip(), null, "--hosts entry " + (i + 1));
        return list.hosts;
    }

    /**
     * The hosts in {@code file}. A password file named on a line is read relative to the hosts
     * file's directory, so a directory holding both moves as one.
     */
    static List<Host> fromFile(Path file, boolean https) throws Invalid {
        List<String> lines;
        try {
            if (!Files.isRegularFile(file)) throw new Invalid("hosts file " + file + ": " + (Files.exists(file) ? "not a regular file" : "no such file"));
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new Invalid("hosts file " + file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new Invalid("hosts file " + file + ": cannot read it (" + e.getMessage() + ")");
        }
        HostList list = new HostList(https);
        Path dir = file.toAbsolutePath().getParent();
        for (int i = 0; i < lines.size(); i++) {
            String where = "hosts file " + file + " line " + (i + 1);
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] fields = line.split("\\s+");
            if (fields.length > 2) {
                throw new Invalid(where + ": too many fields (" + fields.length + "): a line is 'url [password-file]'");
            }
            list.add(fields[0], fields.length == 2 ? dir.resolve(fields[1]) : null, where);
        }
        if (list.hosts.isEmpty()) throw new Invalid("hosts file " + file + ": names no host");
        return list.hosts;
    }

    private void add(String entry, Path passwordFile, String where) throws Invalid {
        if (entry.isEmpty()) throw new Invalid(where + " is empty");
        if (hosts.size() == MOST_HOSTS) throw new Invalid(where + ": more than " + MOST_HOSTS + " hosts");
        URI url = entry.contains("://") ? url(entry, where) : bare(entry, where);
        String name = url.getAuthority().toLowerCase(Locale.ROOT);
        String first = seen.putIfAbsent(name, where);
        if (first != null) throw new Invalid(where + ": " + name + " is already given (" + first + ")");
        hosts.add(new Host(name, url, passwordFile));
    }

    /** host:port → scheme://host:port/jolokia/. */
    private URI bare(String entry, String where) throws Invalid {
        Matcher matcher = HOST_PORT.matcher(entry);
        if (!matcher.matches()) throw new Invalid(where + ": '" + Terminal.printable(entry) + "' is not host:port (or an http(s) URL)");
        port(matcher.group(2), entry, where);
        try {
            return new URI(scheme + "://" + entry + "/jolokia/");
        } catch (URISyntaxException e) {
            throw new Invalid(where + ": '" + Terminal.printable(entry) + "' is not host:port (" + e.getReason() + ")");
        }
    }

    /** An http(s) URL with a host, and no user name or password in it (the password is a file's, never a command line's). */
    private static URI url(String entry, String where) throws Invalid {
        URI url;
        try {
            url = new URI(entry);
        } catch (URISyntaxException e) {
            throw new Invalid(where + ": '" + Terminal.printable(entry) + "' is not a URL (" + e.getReason() + ")");
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) throw new Invalid(where + ": '" + Terminal.printable(entry) + "' is not an http or https URL");
        if (url.getHost() == null) throw new Invalid(where + ": '" + Terminal.printable(entry) + "' has no host (or not one a URL allows)");
        if (url.getRawUserInfo() != null) throw new Invalid(where + ": '" + Terminal.printable(entry) + "' holds a user name: give the password in a password file");
        if (url.getRawQuery() != null || url.getRawFragment() != null) throw new Invalid(where + ": '" + Terminal.printable(entry) + "' has a query or fragment");
        if (url.getPort() == 0 || url.getPort() > 65535) {
            throw new Invalid(where + ": port " + url.getPort() + " in '" + Terminal.printable(entry) + "' is not 1 to 65535");
        }
        String path = url.getRawPath() == null || url.getRawPath().isEmpty() || url.getRawPath().equals("/") ? "/jolokia/" : url.getRawPath();
        return url.resolve(path);
    }

    private static void port(String digits, String entry, String where) throws Invalid {
        int port = Integer.parseInt(digits); // at most 5 digits
        if (port < 1 || port > 65535) throw new Invalid(where + ": port " + port + " in '" + Terminal.printable(entry) + "' is not 1 to 65535");
    }

}
