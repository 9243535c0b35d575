package io.herd.service.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * {@code --hosts} and {@code --hosts-file} as hostile input: every way they can be wrong is a
 * usage error (exit 2) naming the entry or the file and line, before any host is asked anything.
 */
class HostsUsageTest {
    @TempDir
    Path dir;

    /** Runs the CLI and expects a usage error saying all of {@code said}. */
    private static void refused(String[] args, String... said) {
        CliRunner.Run run = CliRunner.run(args);
        assertThat(run.err(), run.exit(), is(2));
        for (String part : said) assertThat(run.err(), containsString(part));
        assertThat("nothing was printed as if a host answered", run.out(), is(""));
    }

    private static String[] args(String... args) {
        return args;
    }

    @Test
    void badEntriesInHostsAreNamedByTheirPlace() {
        String[][] entriesAndErrors = {
                {"h1:8778,,h2:8778", "--hosts entry 2 is empty"},
                {"", "--hosts entry 1 is empty"},
                {"h1:8778,", "--hosts entry 2 is empty"},
                {"h1", "--hosts entry 1: 'h1' is not host:port"},
                {"h1:8778,h2:port", "--hosts entry 2: 'h2:port' is not host:port"},
                {"h1:0", "--hosts entry 1: port 0 in 'h1:0' is not 1 to 65535"},
                {"h1:70000", "port 70000"},
                {"h1:8778;rm -rf /", "--hosts entry 1: 'h1:8778;rm -rf /' is not host:port"},
                {"h1:8778,H1:8778", "--hosts entry 2: h1:8778 is already given (--hosts entry 1)"},
                {"h1:8778,http://h1:8778/jolokia/", "--hosts entry 2: h1:8778 is already given"},
                {"ftp://h1:21/", "--hosts entry 1: 'ftp://h1:21/' is not an http or https URL"},
                {"http://herd:secret@h1:8778/", "holds a user name: give the password in a password file"},
                {"h1:8778\u001b[2J", "'h1:8778\\x1b[2J' is not host:port"},
        };
        for (String[] entryAndError : entriesAndErrors) refused(args("list", "--hosts", entryAndError[0]), entryAndError[1]);
    }

    @Test
    void aHostsFileThatCannotBeUsedIsNamedWithItsLine() throws Exception {
        Path missing = dir.resolve("no-such-hosts");
        refused(args("list", "--hosts-file", missing.toString()), "hosts file " + missing + ": no such file");
        refused(args("list", "--hosts-file", dir.toString()), "hosts file " + dir + ": not a regular file");

        Path tooMany = Files.writeString(dir.resolve("too-many"), "# fleet\nh1:8778\n\nh2:8778 password extra\n");
        refused(args("list", "--hosts-file", tooMany.toString()), "hosts file " + tooMany + " line 4: too many fields (3)");
        Path badPort = Files.writeString(dir.resolve("bad-port"), "h1:8778\nh2:99999 pw\n");
        refused(args("list", "--hosts-file", badPort.toString()), "hosts file " + badPort + " line 2: port 99999");
        Path twice = Files.writeString(dir.resolve("twice"), "h1:8778\n  h1:8778  \n");
        refused(args("list", "--hosts-file", twice.toString()), "line 2: h1:8778 is already given (hosts file " + twice + " line 1)");
        Path onlyComments = Files.writeString(dir.resolve("empty"), "# nothing yet\n\n");
        refused(args("list", "--hosts-file", onlyComments.toString()), "hosts file " + onlyComments + ": names no host");
        Path notText = Files.write(dir.resolve("binary"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        refused(args("list", "--hosts-file", notText.toString()), "hosts file " + notText + ": not UTF-8 text");

        Path unreadable = Files.writeString(dir.resolve("unreadable"), "h1:8778\n");
        Files.setPosixFilePermissions(unreadable, PosixFilePermissions.fromString("---------"));
        if (!Files.isReadable(unreadable)) { // root reads it anyway
            refused(args("list", "--hosts-file", unreadable.toString()), "hosts file " + unreadable + ": cannot read it");
        }
    }

    @Test
    void optionsThatDoNotGoWithManyHostsAreRefused() {
        refused(args("list", "--hosts", "h1:8778", "--hosts-file", "f"), "--hosts and --hosts-file: give one of them");
        refused(args("list", "--hosts", "h1:8778", "--url", "http://h2:8778/jolokia/"), "--url names one service");
        refused(args("logs", "hello", "--hosts", "h1:8778"), "logs reads this machine's log files");
        refused(args("list", "--ready-timeout", "1m"), "--host-timeout and --ready-timeout are for --hosts or --hosts-file");
        refused(args("reload", "hello", "--hosts", "h1:8778", "--ready-timeout", "soon"), "--ready-timeout needs a duration from 1s to 24h");
        refused(args("list", "--hosts", "h1:8778", "--host-timeout", "0s"), "--host-timeout needs a duration");
        refused(args("scale", "hello", "many", "--hosts", "h1:8778"), "'many' is not a number of workers");
        refused(args("reload", "hello", "--json", "--hosts", "h1:8778"), "--json is for the read verbs");
    }

    @Test
    void aPasswordFileThatCannotBeReadStopsTheRunBeforeAnyHostIsTouched() throws Exception {
        Path hosts = Files.writeString(dir.resolve("hosts"), "127.0.0.1:1 no-such-password\n");
        CliRunner.Run run = CliRunner.run("reload", "hello", "--hosts-file", hosts.toString());
        assertThat(run.exit(), is(3));
        assertThat(run.err(), allOf(containsString("127.0.0.1:1: "), containsString(dir.resolve("no-such-password").toString()),
                containsString("no host was touched")));
        assertThat(run.out(), not(containsString("==")));
    }
}
