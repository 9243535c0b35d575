import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * bench/lifecycle.sh's stopwatch: the measures that need millisecond timing, which a shell loop of
 * curl (several ms per spawn) would blur. Compiled once by the script, then run per measure.
 *
 * <pre>
 *   Lifecycle ports N
 *       N free TCP ports on 127.0.0.1, one a line
 *   Lifecycle alone PORT COMMAND...
 *       spawns COMMAND (hello alone on PORT) and prints the milliseconds from spawn to its first
 *       HTTP 200; then kills it (SIGKILL) and waits for it to exit
 *   Lifecycle kill PORT MASTER_PID WORKERS ROUND HERD_LOG
 *       learns which worker pids answer on PORT (hello's X-Herd-Worker: instance:pid), SIGKILLs
 *       instance ROUND % WORKERS (only a descendant of MASTER_PID), then polls PORT until a worker
 *       that was not answering before the kill answers; prints
 *       "rotation_ms log_ms killed_pid new_pid polls failed_polls" where log_ms is the master's own log
 *       line "(pid NEW): ... -> online" minus the kill's wall-clock time ("-" if not found)
 *   Lifecycle chaos MASTER_PID JOLOKIA_URL PASSWORD_FILE APP INSTANCES SECONDS KILL_EVERY_MS
 *       polls the app's Workers table through Jolokia every 100 ms for SECONDS and SIGKILLs a
 *       random online worker every KILL_EVERY_MS; prints each instance's share of the run spent
 *       online, the mean capacity, the state at the end and how long until all were back online
 * </pre>
 */
public final class Lifecycle {
    private static final byte[] REQUEST =
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern WORKER_HEADER = Pattern.compile("(?im)^X-Herd-Worker:\\s*(\\d+):(\\d+)\\s*$");
    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss,SSS");

    public static void main(String[] args) throws Exception {
        switch (args.length == 0 ? "" : args[0]) {
            case "ports" -> ports(Integer.parseInt(args[1]));
            case "alone" -> alone(Integer.parseInt(args[1]), List.of(args).subList(2, args.length));
            case "kill" -> kill(Integer.parseInt(args[1]), Long.parseLong(args[2]), Integer.parseInt(args[3]),
                    Integer.parseInt(args[4]), Path.of(args[5]));
            case "chaos" -> new Chaos(Long.parseLong(args[1]), args[2], Files.readString(Path.of(args[3])).strip(),
                    args[4], Integer.parseInt(args[5])).run(Integer.parseInt(args[6]), Integer.parseInt(args[7]));
            default -> {
                System.err.println("usage: Lifecycle ports|alone|kill|chaos ... (see the class comment)");
                System.exit(2);
            }
        }
    }

    private static void ports(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            // All open at once, so the ports differ from each other.
            for (int i = 0; i < count; i++) sockets.add(new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()));
            for (ServerSocket socket : sockets) System.out.println(socket.getLocalPort());
        } finally {
            for (ServerSocket socket : sockets) socket.close();
        }
    }

    /** Spawn to first 200, polling every millisecond; the poll's own code is warmed up first. */
    private static void alone(int port, List<String> command) throws Exception {
        for (int i = 0; i < 50; i++) {
            try {
                get(port, 200);
            } catch (IOException expected) {
                // nothing listens yet: this only loads and compiles the polling path
            }
        }
        long start = System.nanoTime();
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long deadline = start + 30_000_000_000L;
            while (true) {
                try {
                    if (get(port, 2_000).status == 200) break;
                } catch (IOException notYet) {
                    // not listening yet
                }
                if (!process.isAlive()) throw new IllegalStateException("hello exited with " + process.exitValue() + " before answering");
                if (System.nanoTime() > deadline) throw new IllegalStateException("hello did not answer within 30 s");
                Thread.sleep(1);
            }
            System.out.printf("%.1f%n", (System.nanoTime() - start) / 1e6);
        } finally {
            process.destroyForcibly();
            process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private static void kill(int port, long masterPid, int workers, int round, Path herdLog) throws Exception {
        Map<Integer, Long> pidByInstance = new TreeMap<>();
        Set<Long> answering = new HashSet<>();
        for (int i = 0; i < 400 && answering.size() < workers; i++) {
            Response response = get(port, 2_000);
            if (response.pid > 0) {
                answering.add(response.pid);
                pidByInstance.put(response.instance, response.pid);
            }
            Thread.sleep(1);
        }
        if (answering.size() < workers) {
            throw new IllegalStateException("only " + answering.size() + " of " + workers + " workers answered on " + port);
        }
        List<Long> byInstance = new ArrayList<>(pidByInstance.values());
        long victim = byInstance.get(round % byInstance.size());
        ProcessHandle worker = descendant(masterPid, victim);

        long killedAtMillis = System.currentTimeMillis();
        long killedAt = System.nanoTime();
        worker.destroyForcibly();
        long deadline = killedAt + 30_000_000_000L;
        int polls = 0, failedPolls = 0;
        long newPid = -1;
        while (newPid < 0) {
            polls++;
            if (System.nanoTime() > deadline) throw new IllegalStateException("no new worker answered within 30 s of the kill");
            try {
                Response response = get(port, 2_000);
                if (response.pid > 0 && !answering.contains(response.pid)) newPid = response.pid;
            } catch (IOException e) {
                failedPolls++;
            }
            if (newPid < 0) Thread.sleep(1);
        }
        double rotationMillis = (System.nanoTime() - killedAt) / 1e6;
        Long onlineAt = onlineInLog(herdLog, newPid, killedAtMillis);
        System.out.printf("%.1f %s %d %d %d %d%n", rotationMillis, onlineAt == null ? "-" : Long.toString(onlineAt - killedAtMillis),
                victim, newPid, polls, failedPolls);
    }

    /** The process PID, if MASTER_PID is among its ancestors: the bench kills only herd's own workers. */
    static ProcessHandle descendant(long masterPid, long pid) {
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no process " + pid));
        for (ProcessHandle up = process.parent().orElse(null); up != null; up = up.parent().orElse(null)) {
            if (up.pid() == masterPid) return process;
        }
        throw new IllegalStateException("pid " + pid + " is not herd's (master " + masterPid + "): not killing it");
    }

    /**
     * The wall-clock time of the master's log line saying the worker PID went online, at or after
     * SINCE; waits up to 5 s for it to be written. Null when the log has no such line.
     */
    private static Long onlineInLog(Path log, long pid, long since) throws Exception {
        String tag = "(pid " + pid + ")";
        long deadline = System.nanoTime() + 5_000_000_000L;
        do {
            for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                if (!line.contains(tag) || !line.contains("-> online") || line.length() < 23) continue;
                try {
                    long at = LocalDateTime.parse(line.substring(0, 23), LOG_TIME).atZone(ZoneId.systemDefault())
                            .toInstant().toEpochMilli();
                    if (at >= since - 1) return at;
                } catch (java.time.DateTimeException otherFormat) {
                    return null;
                }
            }
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        return null;
    }

    record Response(int status, int instance, long pid) {
    }

    /** One GET on a new connection (the way a new client reaches herd's balancer). */
    static Response get(int port, int timeoutMillis) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            socket.getOutputStream().write(REQUEST);
            byte[] answer = readAll(new BufferedInputStream(socket.getInputStream()));
            String text = new String(answer, StandardCharsets.ISO_8859_1);
            if (!text.startsWith("HTTP/1.")) throw new IOException("no HTTP response");
            int status = Integer.parseInt(text.substring(9, 12));
            Matcher worker = WORKER_HEADER.matcher(text);
            return worker.find() ? new Response(status, Integer.parseInt(worker.group(1)), Long.parseLong(worker.group(2)))
                    : new Response(status, -1, -1);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        byte[] answer = in.readNBytes(64 * 1024);
        if (answer.length == 0) throw new IOException("connection closed without a response");
        return answer;
    }

    /** The chaos run: a Jolokia poller, a killer on a fixed beat, and the books they keep. */
    static final class Chaos {
        private static final Pattern OBJECT = Pattern.compile("\\{[^{}]*\\}");
        private static final Pattern INSTANCE = Pattern.compile("\"instance\":(\\d+)");
        private static final Pattern STATE = Pattern.compile("\"state\":\"([^\"]*)\"");
        private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");

        record Worker(int instance, String state, long pid) {
        }

        private final long masterPid;
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        private final HttpRequest workersRequest;
        private final int instances;
        /** Milliseconds each instance spent in each state, attributed from one poll to the next. */
        private final Map<Integer, Map<String, Long>> stateMillis = new TreeMap<>();
        private long onlineWorkerMillis;
        private long polledMillis;

        Chaos(long masterPid, String jolokiaUrl, String password, String app, int instances) {
            this.masterPid = masterPid;
            this.instances = instances;
            String base = jolokiaUrl.endsWith("/") ? jolokiaUrl : jolokiaUrl + "/";
            workersRequest = HttpRequest.newBuilder(URI.create(base + "read/herd:type=Cluster,name=" + app + "/Workers"))
                    .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("herd:" + password).getBytes(StandardCharsets.UTF_8)))
                    .timeout(Duration.ofSeconds(2)).build();
        }

        List<Worker> workers() throws IOException, InterruptedException {
            HttpResponse<String> response = http.send(workersRequest, HttpResponse.BodyHandlers.ofString());
            String body = response.body();
            if (response.statusCode() != 200 || !body.contains("\"status\":200")) {
                throw new IOException("Jolokia answered " + response.statusCode() + ": " + body.substring(0, Math.min(200, body.length())));
            }
            List<Worker> workers = new ArrayList<>();
            Matcher objects = OBJECT.matcher(body.substring(body.indexOf("\"value\"")));
            while (objects.find()) {
                String object = objects.group();
                Matcher instance = INSTANCE.matcher(object), state = STATE.matcher(object), pid = PID.matcher(object);
                if (instance.find() && state.find()) {
                    workers.add(new Worker(Integer.parseInt(instance.group(1)), state.group(1), pid.find() ? Long.parseLong(pid.group(1)) : -1));
                }
            }
            return workers;
        }

        void run(int seconds, int killEveryMillis) throws Exception {
            long start = System.nanoTime();
            long end = start + seconds * 1_000_000_000L;
            long nextKill = start + killEveryMillis * 1_000_000L;
            int kills = 0, skipped = 0, pollErrors = 0;
            List<Worker> last = workers();
            long lastAt = System.nanoTime();
            while (lastAt < end) {
                long now = System.nanoTime();
                if (now >= nextKill) {
                    List<Worker> online = last.stream().filter(w -> w.state.equals("online") && w.pid > 0).toList();
                    if (online.isEmpty()) {
                        skipped++;
                    } else {
                        Worker victim = online.get(ThreadLocalRandom.current().nextInt(online.size()));
                        try {
                            descendant(masterPid, victim.pid).destroyForcibly();
                            kills++;
                        } catch (IllegalStateException gone) {
                            skipped++; // exited since the last poll
                        }
                    }
                    nextKill += killEveryMillis * 1_000_000L;
                }
                Thread.sleep(Math.max(1, Math.min(100, (Math.min(nextKill, end) - System.nanoTime()) / 1_000_000)));
                List<Worker> current;
                try {
                    current = workers();
                } catch (IOException e) {
                    pollErrors++;
                    continue; // the previous state keeps counting until the next good poll
                }
                long at = Math.min(System.nanoTime(), end);
                account(last, (at - lastAt) / 1_000_000);
                last = current;
                lastAt = at;
            }
            System.out.printf("chaos: %d s, %d kills (%d skipped: no online worker or it had just exited), %d Jolokia polls failed%n",
                    seconds, kills, skipped, pollErrors);
            for (Map.Entry<Integer, Map<String, Long>> slot : stateMillis.entrySet()) {
                long online = slot.getValue().getOrDefault("online", 0L);
                System.out.printf("chaos: worker #%d online %.1f %% of the run (ms per state: %s)%n", slot.getKey(),
                        100.0 * online / Math.max(1, polledMillis), slot.getValue());
            }
            System.out.printf("chaos: capacity (online workers / %d, averaged over the run) %.1f %%%n", instances,
                    100.0 * onlineWorkerMillis / Math.max(1, polledMillis) / instances);
            long atEnd = last.stream().filter(w -> w.state.equals("online")).count();
            System.out.printf("chaos: at the end %d of %d online: %s%n", atEnd, instances, last);
            long recovered = System.nanoTime();
            long recoveryDeadline = recovered + 60_000_000_000L;
            while (true) {
                long online = workers().stream().filter(w -> w.state.equals("online")).count();
                if (online >= instances) break;
                if (System.nanoTime() > recoveryDeadline) {
                    System.out.println("chaos: all back online after the end: NO, still " + online + " of " + instances + " after 60 s");
                    return;
                }
                Thread.sleep(50);
            }
            System.out.printf("chaos: all back online after the end: %s%n",
                    atEnd >= instances ? "were already" : String.format("after %d ms", (System.nanoTime() - recovered) / 1_000_000));
        }

        private void account(List<Worker> workers, long millis) {
            if (millis <= 0) return;
            polledMillis += millis;
            for (Worker worker : workers) {
                stateMillis.computeIfAbsent(worker.instance, i -> new TreeMap<>()).merge(worker.state, millis, Long::sum);
                if (worker.state.equals("online")) onlineWorkerMillis += millis;
            }
        }
    }
}
