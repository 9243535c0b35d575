package io.herd.service;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;

/**
 * Nothing to attack on the IPC side of a running service: the socket directory is its user's
 * alone, and holds no socket once the workers are connected. (That a process other than the
 * worker launched for a socket is refused is proved on the channel itself, in FdPassingTest.)
 */
@Timeout(120)
class IpcHostilityTest {

    @Test
    void theIpcDirectoryIsPrivateAndEmptyOnceWorkersAreConnected() throws Exception {
        try (HelloCluster herd = HelloCluster.start(2, Map.of())) {
            herd.awaitInfo(info -> info.online() == 2);
            Path dir = herd.master.ipcDir();
            String permissions = PosixFilePermissions.toString(Files.getPosixFilePermissions(dir));
            List<Path> left;
            try (Stream<Path> files = Files.list(dir)) {
                left = files.toList();
            }
            Figures.record("IPC hostility", "socket directory " + permissions + ", " + left.size() + " socket(s) left in it with 2 workers online");
            assertThat(permissions, is("rwx------"));
            assertThat("sockets a foreign process could connect to", left, is(empty()));
        }
    }
}
