package io.herd.service;

import io.herd.testing.Await;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * What stands in for systemd: a Unix datagram socket bound at a {@code NOTIFY_SOCKET} address
 * (a path, or "@name" in the abstract namespace), receiving every message the service sends.
 * The receiver is Python's socket module, not herd's own FFM code, so an address herd spells
 * wrong (a NUL too many after an abstract name) reaches nobody, and each message is stamped with
 * the receiver's own CLOCK_MONOTONIC as it arrives. Closing it kills the receiver.
 */
final class NotifyReceiver implements AutoCloseable {
    /** Binds, says so, then prints each datagram as "<CLOCK_MONOTONIC µs> <message, \\ and newlines escaped>". */
    private static final String RECEIVER = """
            import socket, sys, time
            address = sys.argv[1]
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.bind('\\0' + address[1:] if address.startswith('@') else address)
            print('bound', flush=True)
            while True:
                data = receiver.recv(65536)
                now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
                text = data.decode('utf-8').replace('\\\\', '\\\\\\\\').replace('\\n', '\\\\n')
                print(now, text, flush=True)
            """;

    /** One datagram: when it arrived (the receiver's CLOCK_MONOTONIC, µs) and its lines. */
    record Message(long receivedMicros, List<String> lines) {
        boolean has(String line) {
            return lines.contains(line);
        }

        /** The value of {@code KEY=}, or null. */
        String field(String key) {
            return lines.stream().filter(line -> line.startsWith(key + "=")).map(line -> line.substring(key.length() + 1)).findFirst().orElse(null);
        }

        @Override
        public String toString() {
            return String.join("\\n", lines);
        }
    }

    final String address;
    private final Process python;
    private final List<Message> messages = new CopyOnWriteArrayList<>();

    private NotifyReceiver(String address, Process python) {
        this.address = address;
        this.python = python;
    }

    /** A receiver bound at {@code address} (returns once it is bound). */
    static NotifyReceiver bind(String address) throws IOException, InterruptedException {
        Process python = new ProcessBuilder("python3", "-c", RECEIVER, address).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        NotifyReceiver receiver = new NotifyReceiver(address, python);
        BufferedReader lines = python.inputReader(StandardCharsets.UTF_8);
        String first = lines.readLine();
        if (!"bound".equals(first)) {
            receiver.close();
            throw new AssertionError("the receiver did not bind " + address + " (python3 is needed: apt-get install python3); it said: " + first);
        }
        Thread.ofPlatform().daemon().start(() -> receiver.collect(lines));
        return receiver;
    }

    private void collect(BufferedReader lines) {
        try (lines) {
            String line;
            while ((line = lines.readLine()) != null) {
                int space = line.indexOf(' ');
                messages.add(new Message(Long.parseLong(line.substring(0, space)), List.of(unescape(line.substring(space + 1)).split("\n", -1))));
            }
        } catch (IOException ended) {
            // the receiver is gone
        }
    }

    private static String unescape(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                char next = text.charAt(++i);
                out.append(next == 'n' ? '\n' : next);
            } else out.append(c);
        }
        return out.toString();
    }

    /** Every message so far, in the order they arrived. */
    List<Message> messages() {
        return List.copyOf(messages);
    }

    /** Waits for the first message from index {@code from} on that matches; returns its index. */
    int await(String what, int from, Predicate<Message> matching, Duration limit) throws InterruptedException {
        return Await.until(what + " (messages so far: " + messages.size() + ")", () -> indexOf(from, matching), index -> index >= 0, limit);
    }

    /** The index of the first message from {@code from} on that matches, or -1. */
    int indexOf(int from, Predicate<Message> matching) {
        List<Message> all = messages();
        for (int i = from; i < all.size(); i++) if (matching.test(all.get(i))) return i;
        return -1;
    }

    /** The messages, one a line, for failure messages. */
    String transcript() {
        StringBuilder text = new StringBuilder();
        List<Message> all = messages();
        for (int i = 0; i < all.size(); i++) text.append(i).append(": ").append(all.get(i)).append('\n');
        return text.toString();
    }

    @Override
    public void close() throws InterruptedException {
        python.destroyForcibly();
        python.waitFor(10, TimeUnit.SECONDS);
    }
}
