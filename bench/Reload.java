import com.sun.tools.attach.VirtualMachine;

import javax.management.JMX;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * bench/reload.sh's helper: reloads a running herd service through its ClusterMXBean (local
 * attach, the way JConsole reaches it), on a schedule, while optionally measuring the load itself.
 *
 * <pre>
 *   java bench/Reload.java trigger PID APP SECONDS
 *       reload at 20% and 40% of SECONDS, gracefulReload at 60% and 80%; prints each window
 *   java bench/Reload.java once PID APP SECONDS
 *       one reload at 50% of SECONDS (bench/proxy.sh: a single reload inside a wrk run of SECONDS)
 *   java bench/Reload.java measure PID APP PORT SECONDS CONNECTIONS
 *       the same schedule under its own load (CONNECTIONS keep-alive clients, like wrk -cN), with
 *       each request's latency kept, to compare p99 inside and outside the reload windows
 * </pre>
 */
public final class Reload {
    public interface ClusterOps {
        Object reload();

        Object gracefulReload();
    }

    record Window(String operation, long startNanos, long endNanos) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4 || !List.of("trigger", "once", "measure").contains(args[0])) {
            System.err.println("usage: java bench/Reload.java trigger|once PID APP SECONDS"
                    + " | measure PID APP PORT SECONDS CONNECTIONS");
            System.exit(2);
        }
        long pid = Long.parseLong(args[1]);
        String app = args[2];
        boolean measure = args[0].equals("measure");
        int seconds = Integer.parseInt(args[measure ? 4 : 3]);
        try (JMXConnector connector = connect(pid)) {
            ClusterOps cluster = JMX.newMBeanProxy(connector.getMBeanServerConnection(),
                    new ObjectName("herd:type=Cluster,name=" + app), ClusterOps.class);
            Load load = measure ? new Load(Integer.parseInt(args[3]), Integer.parseInt(args[5])) : null;
            long start = System.nanoTime();
            List<Window> windows = new ArrayList<>();
            String[] schedule = args[0].equals("once")
                    ? new String[] {"reload"}
                    : new String[] {"reload", "reload", "gracefulReload", "gracefulReload"};
            // The operations split the run evenly: 50% for one, 20/40/60/80% for four.
            double step = 1.0 / (schedule.length + 1);
            for (int i = 0; i < schedule.length; i++) {
                sleepUntil(start + (long) ((i + 1) * step * seconds * 1e9));
                long begin = System.nanoTime();
                Object result = schedule[i].equals("reload") ? cluster.reload() : cluster.gracefulReload();
                windows.add(new Window(schedule[i], begin, System.nanoTime()));
                System.err.printf("%s at %.1f s took %d ms: %s%n", schedule[i], (begin - start) / 1e9,
                        (System.nanoTime() - begin) / 1_000_000, summary(result));
            }
            sleepUntil(start + seconds * 1_000_000_000L);
            if (load != null) load.report(windows);
        }
    }

    private static String summary(Object result) {
        if (result instanceof javax.management.openmbean.CompositeData data) {
            return data.get("succeeded") + " (" + data.get("message") + ")";
        }
        return String.valueOf(result);
    }

    private static JMXConnector connect(long pid) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
        try {
            return JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()));
        } finally {
            vm.detach();
        }
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left = nanos - System.nanoTime();
        if (left > 0) Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
    }

    /** wrk -cN's load: N keep-alive clients, one request at a time each; every latency kept. */
    static final class Load {
        private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        private static final int MAX_SAMPLES = 20_000_000;
        private final long[] ends = new long[MAX_SAMPLES];
        private final long[] latencies = new long[MAX_SAMPLES];
        private final AtomicLong count = new AtomicLong();
        private final AtomicLong errors = new AtomicLong();
        private final ConcurrentLinkedQueue<String> errorKinds = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> clients = new ArrayList<>();

        Load(int port, int connections) {
            for (int i = 0; i < connections; i++) clients.add(Thread.ofPlatform().daemon().start(() -> client(port)));
        }

        private void client(int port) {
            while (running.get()) {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                    socket.setTcpNoDelay(true);
                    socket.setSoTimeout(10_000);
                    InputStream in = new BufferedInputStream(socket.getInputStream());
                    OutputStream out = socket.getOutputStream();
                    boolean keepAlive = true;
                    while (keepAlive && running.get()) {
                        long begin = System.nanoTime();
                        out.write(REQUEST);
                        keepAlive = response(in);
                        long end = System.nanoTime();
                        long index = count.getAndIncrement();
                        if (index < MAX_SAMPLES) {
                            ends[(int) index] = end;
                            latencies[(int) index] = end - begin;
                        }
                    }
                } catch (IOException e) {
                    if (running.get()) {
                        errors.incrementAndGet();
                        if (errorKinds.size() < 10) errorKinds.add(e.toString());
                    }
                }
            }
        }

        private static boolean response(InputStream in) throws IOException {
            String status = line(in);
            if (!status.startsWith("HTTP/1.1 200")) throw new IOException("status: " + status);
            int length = 0;
            boolean close = false;
            String header;
            while (!(header = line(in)).isEmpty()) {
                String lower = header.toLowerCase();
                if (lower.startsWith("content-length:")) length = Integer.parseInt(lower.substring(15).trim());
                if (lower.startsWith("connection:") && lower.contains("close")) close = true;
            }
            if (in.readNBytes(length).length != length) throw new IOException("body cut short");
            return !close;
        }

        private static String line(InputStream in) throws IOException {
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) != '\n') {
                if (c < 0) throw new IOException("connection closed");
                if (c != '\r') line.append((char) c);
            }
            return line.toString();
        }

        void report(List<Window> windows) throws InterruptedException {
            running.set(false);
            for (Thread client : clients) client.join(15_000);
            int n = (int) Math.min(count.get(), MAX_SAMPLES);
            List<Long> inside = new ArrayList<>(), outside = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                boolean during = false;
                for (Window window : windows) during |= ends[i] >= window.startNanos() && ends[i] <= window.endNanos();
                (during ? inside : outside).add(latencies[i]);
            }
            double p99In = p99(inside), p99Out = p99(outside);
            System.out.printf("requests %d, errors %d%s%n", n, errors.get(), errorKinds.isEmpty() ? "" : " " + errorKinds);
            System.out.printf("p99 outside reloads %.2f ms (%d requests), inside reloads %.2f ms (%d requests): ratio %.2f%n",
                    p99Out, outside.size(), p99In, inside.size(), p99In / p99Out);
        }

        private static double p99(List<Long> values) {
            if (values.isEmpty()) return Double.NaN;
            long[] sorted = values.stream().mapToLong(Long::longValue).toArray();
            Arrays.sort(sorted);
            return sorted[(int) Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] / 1e6;
        }
    }
}
