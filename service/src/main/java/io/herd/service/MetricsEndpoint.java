package io.herd.service;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.herd.engine.Master;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.OpenMetricsTextFormatWriter;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmBufferPoolMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmClassLoadingMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmCompilationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmGarbageCollectorMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmRuntimeInfoMetric;
import io.prometheus.metrics.instrumentation.jvm.JvmThreadsMetrics;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /metrics} on the management HTTP server, in Prometheus's text format (or
 * OpenMetrics, when the scraper asks for it): herd's own metrics ({@link HerdMetrics}) and the
 * master's {@code jvm_*} and {@code process_*}, under the names the Prometheus Java client gives
 * them, which dashboards expect.
 *
 * <p>Like Jolokia, it requires one of the {@link Users}: the monitor and the operator may both
 * read it ({@link ManagementHttpServer} authenticates the request and refuses cross-site ones
 * before it gets here). Only GET is served.
 *
 * <p>Nothing is loaded or registered until the first scrape: a service nobody scrapes pays no
 * memory for it. The JVM's metrics leave out the two that cost the master something between
 * scrapes or at each: allocation counting (a listener on every GC) and native memory (a
 * diagnostic command).
 */
final class MetricsEndpoint implements HttpHandler {
    private static final System.Logger LOG = System.getLogger(MetricsEndpoint.class.getName());
    /** Where it is served, on the management server. */
    static final String PATH = "/metrics";

    private final Master master;
    private volatile PrometheusRegistry registry;

    MetricsEndpoint(Master master) {
        this.master = master;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
                answer(exchange, 404, "text/plain; charset=utf-8", "no such page: metrics are at " + PATH + "\n");
                return;
            }
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET");
                answer(exchange, 405, "text/plain; charset=utf-8", exchange.getRequestMethod() + " is not served here: " + PATH + " takes GET\n");
                return;
            }
            if (Caller.current().isEmpty()) { // not through the management server's authentication: never served
                answer(exchange, 403, "text/plain; charset=utf-8", "no authenticated caller\n");
                return;
            }
            ExpositionFormatWriter writer = writerFor(exchange.getRequestHeaders().getFirst("Accept"));
            ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
            try {
                writer.write(body, registry().scrape());
            } catch (RuntimeException failed) {
                // An exception escaping would close the connection unanswered; a scraper shows the
                // status. The reason goes to herd's log, not to the scraper: an exception's text may
                // hold paths and internals, and the monitor user needs none of them.
                LOG.log(Level.WARNING, "metrics: the scrape failed", failed);
                answer(exchange, 500, "text/plain; charset=utf-8", "the scrape failed: see herd's log\n");
                return;
            }
            answer(exchange, 200, writer.getContentType(), body.toByteArray());
        }
    }

    /** OpenMetrics when the scraper prefers it (Prometheus does), else Prometheus's text format 0.0.4. */
    private static ExpositionFormatWriter writerFor(String accept) {
        OpenMetricsTextFormatWriter openMetrics = OpenMetricsTextFormatWriter.create();
        return openMetrics.accepts(accept) ? openMetrics : PrometheusTextFormatWriter.create();
    }

    /** herd's metrics and the JVM's, registered at the first scrape. */
    private PrometheusRegistry registry() {
        PrometheusRegistry made = registry;
        if (made != null) return made;
        synchronized (this) {
            if (registry == null) {
                PrometheusRegistry fresh = new PrometheusRegistry();
                fresh.register(new HerdMetrics(master));
                JvmMemoryMetrics.builder().register(fresh);
                JvmBufferPoolMetrics.builder().register(fresh);
                JvmGarbageCollectorMetrics.builder().register(fresh);
                JvmThreadsMetrics.builder().register(fresh);
                JvmClassLoadingMetrics.builder().register(fresh);
                JvmCompilationMetrics.builder().register(fresh);
                JvmRuntimeInfoMetric.builder().register(fresh);
                ProcessMetrics.builder().register(fresh);
                registry = fresh;
            }
            return registry;
        }
    }

    private static void answer(HttpExchange exchange, int status, String contentType, String text) throws IOException {
        answer(exchange, status, contentType, text.getBytes(StandardCharsets.UTF_8));
    }

    private static void answer(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
