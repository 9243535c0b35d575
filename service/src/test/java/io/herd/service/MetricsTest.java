package io.herd.service;

import io.herd.config.HerdConfig;
import io.herd.engine.Cluster;
import io.herd.engine.OperationResult;
import io.herd.examples.plain.Plain;
import io.herd.testing.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * GET /metrics on a real service with real workers, scraped over HTTP with basic auth as
 * Prometheus does, and read by Prometheus's own Python parser (Debian's python3-prometheus-client),
 * not by a parser of ours that could share our writer's mistakes.
 */
@Timeout(180)
class MetricsTest {
    /** Debian's Python, where apt installs python3-prometheus-client (a python3 earlier on the PATH may not have it). */
    private static final String PYTHON = "/usr/bin/python3";
    /** Prints each family (F, name, type, help) and each sample (S, name, sorted labels, value), tab-separated. */
    private static final String PARSER = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families as prometheus
            from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
            parse = openmetrics if sys.argv[1] == 'openmetrics' else prometheus
            for family in parse(sys.stdin.read()):
                print('F\\t%s\\t%s\\t%s' % (family.name, family.type, family.documentation))
                for sample in family.samples:
                    labels = ','.join('%s=%s' % item for item in sorted(sample.labels.items()))
                    print('S\\t%s\\t%s\\t%r' % (sample.name, labels, float(sample.value)))
            """;
    private static final List<String> STATES = List.of("launching", "online", "spare", "stopping", "stopped", "errored", "waiting_restart");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private HerdService service;
    private String monitor;
    private String operator;

    private Cluster start(int instances, Map<String, String> settings) throws Exception {
        HerdConfig config = HelloCluster.config(instances, settings);
        service = new HerdService(config);
        service.start();
        monitor = login("herd-monitor", Files.readString(config.jolokia().monitorPasswordFile()).strip());
        operator = login("herd", Files.readString(config.jolokia().passwordFile()).strip());
        Cluster hello = service.master().cluster("hello");
        Await.until(instances + " workers online", hello::info, info -> info.online() == instances, Duration.ofSeconds(60));
        return hello;
    }

    @AfterEach
    void stop() throws Exception {
        if (service != null) service.stop();
    }

    @Test
    void aScrapeCountsTheTrafficSentAndTheReloadDoneAndPrometheusParsesIt() throws Exception {
        Cluster hello = start(2, Map.of());
        Scrape before = scrape();
        assertThat(before.value("herd_app_instances", "app=hello"), is(2.0));
        for (String state : STATES) {
            assertThat("every state has its series, absent ones at 0", before.value("herd_workers", "app=hello,state=" + state),
                    is(state.equals("online") ? 2.0 : 0.0));
        }
        assertThat(before.value("herd_worker_up", "app=hello,instance=0"), is(1.0));
        assertThat(before.value("herd_worker_up", "app=hello,instance=1"), is(1.0));
        assertThat(before.value("herd_operations_total", "app=hello,operation=reload,result=succeeded"), is(0.0));

        OperationResult reload = reloadWhileScraping(hello);
        assertThat(reload.toString(), reload.succeeded(), is(true));
        int port = service.master().addresses("hello").getFirst().getPort();
        for (int i = 0; i < 5; i++) assertThat(Http.get(port, "/").status(), is(200));
        // the workers' acknowledgements and close reports, and the 2 s CPU and memory samples, come in on their own time
        Scrape after = Await.until("the new workers' handoffs acknowledged and closes reported, their CPU and memory sampled", this::scrape,
                scrape -> scrape.sum("herd_worker_connections_handed_total") == 5 && scrape.sum("herd_worker_connections_open") == 0
                        && scrape.all("herd_worker_cpu_seconds_total", v -> v > 0)
                        && scrape.all("herd_worker_resident_memory_bytes", v -> v > 0), Duration.ofSeconds(30));

        assertThat(after.value("herd_connections_accepted_total", "app=hello") - before.value("herd_connections_accepted_total", "app=hello"), is(5.0));
        assertThat(after.value("herd_connections_dropped_total", "app=hello"), is(0.0));
        assertThat(after.value("herd_connections_waiting", "app=hello"), is(0.0));
        assertThat(after.value("herd_workers", "app=hello,state=online"), is(2.0));
        assertThat(after.value("herd_worker_up", "app=hello,instance=0"), is(1.0));
        assertThat(after.value("herd_worker_up", "app=hello,instance=1"), is(1.0));
        assertThat(after.value("herd_worker_restarts_total", "app=hello,instance=0"), is(0.0));
        assertThat(after.values("herd_worker_start_seconds"), everyItem(greaterThan(0.0)));
        assertThat(after.values("herd_worker_start_seconds").size(), is(2));
        assertThat("handoff dispatch relays no bytes", after.values("herd_worker_bytes_total"), is(empty()));

        assertThat(after.value("herd_operations_total", "app=hello,operation=reload,result=succeeded"), is(1.0));
        assertThat(after.value("herd_operations_total", "app=hello,operation=reload,result=failed"), is(0.0));
        assertThat(after.value("herd_operations_total", "app=hello,operation=scale,result=succeeded"), is(0.0));
        List<Double> buckets = after.buckets("herd_operation_duration_seconds", "app=hello,operation=reload");
        for (int i = 1; i < buckets.size(); i++) assertThat("buckets are cumulative: " + buckets, buckets.get(i), greaterThanOrEqualTo(buckets.get(i - 1)));
        assertThat("+Inf counts the one reload", buckets.getLast(), is(1.0));
        assertThat(after.value("herd_operation_duration_seconds_count", "app=hello,operation=reload"), is(1.0));
        assertThat(after.value("herd_operation_duration_seconds_sum", "app=hello,operation=reload"),
                is(closeToMillis(reload.durationMillis())));

        assertThat(after.value("process_resident_memory_bytes", ""), greaterThan(0.0));
        assertThat(after.value("jvm_memory_used_bytes", "area=heap"), greaterThan(0.0));
        assertThat(after.help.keySet(), hasItems("herd_app_instances", "herd_workers", "herd_connections_accepted", "herd_connections_dropped",
                "herd_connections_waiting", "herd_operations", "herd_operation_duration_seconds", "herd_worker_up", "herd_worker_restarts",
                "herd_worker_resident_memory_bytes", "herd_worker_cpu_seconds", "herd_worker_connections_open",
                "herd_worker_connections_handed", "herd_worker_start_seconds", "process_cpu_seconds", "jvm_threads_current"));
        after.help.forEach((family, help) -> assertThat(family + " says what it measures", help.isBlank(), is(false)));
        assertThat(after.help.get("herd_worker_start_seconds"), containsString("launch"));
    }

    /**
     * A reload, scraped all along: while an instance has two workers (the replacement starting,
     * the old one serving), each scrape still has one series per instance.
     */
    private OperationResult reloadWhileScraping(Cluster hello) throws Exception {
        CompletableFuture<OperationResult> reload = CompletableFuture.supplyAsync(hello::reload);
        int scrapes = 0;
        while (!reload.isDone() || scrapes == 0) {
            Scrape during = scrape();
            assertThat(during.values("herd_worker_up").size(), is(2));
            scrapes++;
        }
        return reload.get(60, TimeUnit.SECONDS);
    }

    @Test
    void inProxyDispatchEachWorkersRelayedBytesAreCountedBothWays() throws Exception {
        start(1, Map.of("classpath", HelloCluster.location(Plain.class), "main", Plain.class.getName(), "dispatch", "proxy"));
        int port = service.master().addresses("hello").getFirst().getPort();
        for (int i = 0; i < 3; i++) assertThat(Http.get(port, "/").status(), is(200));
        Scrape scrape = Await.until("the 3 relayed connections closed", this::scrape,
                seen -> seen.value("herd_worker_connections_open", "app=hello,instance=0") == 0, Duration.ofSeconds(30));
        assertThat(scrape.value("herd_worker_bytes_total", "app=hello,direction=in,instance=0"), greaterThan(0.0));
        assertThat(scrape.value("herd_worker_bytes_total", "app=hello,direction=out,instance=0"), greaterThan(0.0));
        assertThat(scrape.value("herd_worker_connections_handed_total", "app=hello,instance=0"), is(3.0));
    }

    @Test
    void theMonitorAndTheOperatorMayScrapeAndNobodyElseNorAnyOtherWay() throws Exception {
        start(1, Map.of());
        URI metrics = URI.create(service.metricsUrl());
        assertThat(get(metrics, null, null).statusCode(), is(401));
        assertThat(get(metrics, login("herd-monitor", "a guess"), null).statusCode(), is(401));
        HttpResponse<String> asOperator = get(metrics, operator, null);
        assertThat(asOperator.statusCode(), is(200));
        assertThat(asOperator.headers().firstValue("Content-Type").orElse(""), startsWith("text/plain; version=0.0.4"));
        assertThat(parse(asOperator.body(), "prometheus").value("herd_app_instances", "app=hello"), is(1.0));

        HttpResponse<String> post = http.send(HttpRequest.newBuilder(metrics).header("Authorization", monitor).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode(), is(405));
        assertThat(post.headers().firstValue("Allow").orElse(""), is("GET"));
        HttpResponse<String> delete = http.send(HttpRequest.newBuilder(metrics).header("Authorization", monitor).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(delete.statusCode(), is(405));
        assertThat(get(URI.create(service.metricsUrl() + "/more"), monitor, null).statusCode(), is(404));
        assertThat("a page elsewhere may not read it", http.send(HttpRequest.newBuilder(metrics).header("Authorization", monitor)
                .header("Origin", "http://evil.example").GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode(), is(403));
    }

    @Test
    void aScraperThatAsksForOpenMetricsGetsItParsedByItsOwnParser() throws Exception {
        start(1, Map.of());
        HttpResponse<String> response = get(URI.create(service.metricsUrl()), monitor,
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
        assertThat(response.statusCode(), is(200));
        assertThat(response.headers().firstValue("Content-Type").orElse(""), startsWith("application/openmetrics-text"));
        assertThat(response.body(), endsWith("# EOF\n"));
        Scrape scrape = parse(response.body(), "openmetrics");
        assertThat(scrape.value("herd_worker_up", "app=hello,instance=0"), is(1.0));
        assertThat(scrape.value("herd_operations_total", "app=hello,operation=restart,result=failed"), is(0.0));
    }

    // ---- scraping and parsing ----------------------------------------------------------------

    private static String login(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private HttpResponse<String> get(URI uri, String authorization, String accept) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
        if (authorization != null) request.header("Authorization", authorization);
        if (accept != null) request.header("Accept", accept);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A scrape as the monitor, in Prometheus's text format, parsed. */
    private Scrape scrape() throws Exception {
        HttpResponse<String> response = get(URI.create(service.metricsUrl()), monitor, null);
        assertThat(response.body(), response.statusCode(), is(200));
        return parse(response.body(), "prometheus");
    }

    /** What Prometheus's Python parser reads in {@code text}; it fails on anything the format does not allow. */
    private static Scrape parse(String text, String format) throws IOException, InterruptedException {
        Process python;
        try {
            python = new ProcessBuilder(PYTHON, "-c", PARSER, format).start();
        } catch (IOException e) {
            throw new AssertionError(PYTHON + " is needed to parse the metrics: apt-get install python3-prometheus-client", e);
        }
        try {
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(python.getErrorStream()));
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(python.getInputStream()));
            try (OutputStream in = python.getOutputStream()) {
                in.write(text.getBytes(StandardCharsets.UTF_8));
            }
            if (!python.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError("the Python parser did not finish within 60 s");
            if (python.exitValue() != 0) {
                throw new AssertionError("Prometheus's parser refused the scrape (is python3-prometheus-client installed?):\n"
                        + err.join() + "\n--- the scrape:\n" + text);
            }
            return Scrape.of(out.join());
        } finally {
            python.destroyForcibly();
        }
    }

    private static String read(java.io.InputStream stream) {
        try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static org.hamcrest.Matcher<Double> closeToMillis(long millis) {
        return org.hamcrest.Matchers.closeTo(millis / 1000.0, 0.0005);
    }

    /**
     * A parsed scrape: each family's help, and each sample's value by name and its labels,
     * written {@code name=value} sorted by name and joined by commas ({@code app=hello,instance=0}).
     */
    private record Scrape(Map<String, String> help, Map<String, Map<String, Double>> samples) {
        static Scrape of(String parsed) {
            Map<String, String> help = new HashMap<>();
            Map<String, Map<String, Double>> samples = new HashMap<>();
            for (String line : parsed.split("\n")) {
                if (line.isEmpty()) continue;
                String[] fields = line.split("\t", -1);
                if (fields[0].equals("F")) help.put(fields[1], fields[3]);
                else samples.computeIfAbsent(fields[1], name -> new java.util.LinkedHashMap<>()).put(fields[2], Double.parseDouble(fields[3]));
            }
            return new Scrape(help, samples);
        }

        double value(String name, String labels) {
            Double value = samples.getOrDefault(name, Map.of()).get(labels);
            if (value == null) throw new AssertionError("no sample " + name + "{" + labels + "} in " + samples.getOrDefault(name, Map.of()));
            return value;
        }

        List<Double> values(String name) {
            return List.copyOf(samples.getOrDefault(name, Map.of()).values());
        }

        double sum(String name) {
            return values(name).stream().mapToDouble(Double::doubleValue).sum();
        }

        boolean all(String name, java.util.function.DoublePredicate condition) {
            return !values(name).isEmpty() && values(name).stream().allMatch(condition::test);
        }

        /** A histogram's bucket counts, by their upper bound (le), lowest first, +Inf last. */
        List<Double> buckets(String name, String labels) {
            List<Map.Entry<Double, Double>> byBound = new ArrayList<>();
            samples.getOrDefault(name + "_bucket", Map.of()).forEach((bucketLabels, count) -> {
                List<String> rest = new ArrayList<>();
                Double bound = null;
                for (String label : bucketLabels.split(",")) {
                    if (label.startsWith("le=")) bound = Double.parseDouble(label.substring(3).replace("+Inf", "Infinity"));
                    else rest.add(label);
                }
                if (String.join(",", rest).equals(labels)) byBound.add(Map.entry(bound, count));
            });
            assertThat("buckets of " + name + "{" + labels + "}", byBound, not(empty()));
            byBound.sort(Map.Entry.comparingByKey());
            return byBound.stream().map(Map.Entry::getValue).toList();
        }
    }
}
