package io.herd.service;

import org.jolokia.server.core.request.EmptyResponseException;
import org.jolokia.server.core.request.JolokiaExecRequest;
import org.jolokia.server.core.request.JolokiaRequest;
import org.jolokia.server.core.request.NotChangedException;
import org.jolokia.server.core.service.request.AbstractRequestHandler;
import org.jolokia.server.core.service.request.RequestHandler;
import org.jolokia.server.core.util.HttpMethod;
import org.jolokia.server.core.util.RequestType;

import javax.management.JMException;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanParameterInfo;
import javax.management.ObjectName;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What herd refuses over Jolokia before Jolokia acts on it, each request of a bulk on its own,
 * answered with a 403 or 400 naming the reason.
 *
 * <ul>
 *   <li><b>Anything but a look, from the monitor.</b> {@code herd-monitor} may read, list,
 *   search and ask the version (and the agent's config, which Jolokia answers as it does the
 *   version, before any handler); an exec, a write or a notification request is refused
 *   whatever the MBean. A request with no caller bound ({@link Caller#CURRENT}) did not come
 *   through the endpoint's authentication, and is refused whatever it is.</li>
 *   <li><b>More than {@value #MAX_BULK} requests in one bulk.</b> Each answer is built whole in
 *   the master's heap: a bulk of 20,000 {@code list} requests (360 KB) would fill it.</li>
 *   <li><b>exec and write by GET</b> ({@code /jolokia/exec/...}): a page can make a browser send
 *   a GET anywhere with an image tag. Only a POST of JSON, which {@link HttpRequestGuard} lets
 *   through from no other site, may act.</li>
 *   <li><b>An operation of herd's with arguments that do not match its signature.</b> Jolokia is
 *   lenient where an operator's typo must not act: it converts 1.5 to an int by truncating it, and
 *   takes arguments past an operation's last parameter as a path into the result, so
 *   {@code scale(1.5)} would scale to 1 and {@code reload(1)} would reload. Here the number of
 *   arguments must match, and an {@code int} or {@code long} parameter takes only a whole number in
 *   its range (a JSON number, or its text as in a GET URL) — as a JMX client is held by JMX.</li>
 *   <li><b>An exec on a name pattern</b> such as {@code herd:*}: Jolokia would run the operation
 *   on every MBean the pattern matches, one after another, with none of the checks above.</li>
 *   <li><b>A proxy request</b> (one with a {@code target}): herd ships without Jolokia's JSR-160
 *   proxy, and Jolokia would otherwise answer it from this JVM as if it were the target.</li>
 * </ul>
 * A request that passes goes on, unchanged, to Jolokia's own handler.
 */
final class RequestChecks extends AbstractRequestHandler {
    /** Ahead of Jolokia's local JMX handler (order 1000), which would take the request otherwise. */
    private static final int ORDER = 10;
    private static final String HERD_DOMAIN = "herd";
    /** An operation named with its signature, as Jolokia reads it: {@code scale(int)}. */
    private static final Pattern WITH_SIGNATURE = Pattern.compile("(.*)\\((.*)\\)");
    /** Requests one HTTP request may carry. */
    static final int MAX_BULK = 100;
    /** What the monitor may ask. */
    private static final Set<RequestType> LOOKS = Set.of(RequestType.READ, RequestType.LIST, RequestType.SEARCH, RequestType.VERSION);
    /** What changes something, and so must come as a POST. */
    private static final Set<RequestType> ACTS = Set.of(RequestType.EXEC, RequestType.WRITE);
    /** How much of a refused value an error message repeats. */
    private static final int ECHO_LIMIT = 40;

    RequestChecks() {
        super("herd", ORDER);
    }

    @Override
    public boolean canHandle(JolokiaRequest request) {
        Caller.current().ifPresent(caller -> caller.requests().incrementAndGet()); // once per request: Jolokia asks this first
        return refusal(request) != null || request.getOption("target") != null || (request instanceof JolokiaExecRequest exec
                && (exec.getObjectName().isPattern() || HERD_DOMAIN.equals(exec.getObjectName().getDomain())));
    }

    /** Why the caller may not make this request at all; null when they may. */
    private static String refusal(JolokiaRequest request) {
        Optional<Caller> caller = Caller.current();
        if (caller.isEmpty()) return "no authenticated caller";
        if (caller.get().requests().get() > MAX_BULK) {
            return "at most " + MAX_BULK + " requests in one bulk request: send the rest in another";
        }
        if (caller.get().role() == Role.MONITOR && !LOOKS.contains(request.getType())) {
            return Role.MONITOR.user() + " may only read, list, search and ask the version, not " + request.getType().getName();
        }
        if (ACTS.contains(request.getType()) && request.getHttpMethod() != HttpMethod.POST) {
            return request.getType().getName() + " only by POST, with Content-Type: application/json";
        }
        return null;
    }

    @Override
    public <R extends JolokiaRequest> Object handleRequest(R request, Object previous)
            throws JMException, IOException, NotChangedException, EmptyResponseException {
        String refusal = refusal(request);
        if (refusal != null) throw new SecurityException(refusal);
        if (request.getOption("target") != null) {
            throw new IllegalArgumentException("proxy requests (with a target) are not served here: ask the target's own agent");
        }
        JolokiaExecRequest exec = (JolokiaExecRequest) request;
        if (exec.getObjectName().isPattern()) {
            throw new IllegalArgumentException("exec runs on one MBean, not on a pattern such as " + echo(exec.getObjectNameAsString()));
        }
        checkArguments(exec);
        for (RequestHandler next : getJolokiaContext().getServices(RequestHandler.class)) {
            if (next != this && next.canHandle(request)) return next.handleRequest(request, previous);
        }
        throw new IllegalStateException("no Jolokia handler takes " + request);
    }

    private static void checkArguments(JolokiaExecRequest exec) throws JMException {
        MBeanOperationInfo operation = operation(exec.getObjectName(), exec.getOperation());
        List<?> arguments = exec.getArguments() == null ? List.of() : exec.getArguments();
        MBeanParameterInfo[] parameters = operation.getSignature();
        if (arguments.size() != parameters.length) {
            throw new IllegalArgumentException(operation.getName() + " takes " + describe(parameters) + ", not " + arguments.size());
        }
        for (int i = 0; i < parameters.length; i++) {
            switch (parameters[i].getType()) {
                case "int", "java.lang.Integer" -> requireWhole(operation, parameters[i], arguments.get(i), Integer.MIN_VALUE, Integer.MAX_VALUE);
                case "long", "java.lang.Long" -> requireWhole(operation, parameters[i], arguments.get(i), Long.MIN_VALUE, Long.MAX_VALUE);
                default -> {
                    // strings and the rest: Jolokia's conversion is exact, and herd's operations check the values
                }
            }
        }
    }

    /**
     * The one operation a request names, as {@code scale} or {@code scale(int)}. herd has no
     * overloaded operations, so anything else — no such operation, a signature that matches none —
     * is refused here rather than left to Jolokia's leniency.
     */
    private static MBeanOperationInfo operation(ObjectName name, String requested) throws JMException {
        if (requested == null) throw new IllegalArgumentException("an exec names its operation");
        Matcher withSignature = WITH_SIGNATURE.matcher(requested.strip());
        String operationName = withSignature.matches() ? withSignature.group(1).strip() : requested.strip();
        List<String> types = withSignature.matches() ? parameterTypes(withSignature.group(2)) : null;
        List<MBeanOperationInfo> matching = Arrays.stream(ManagementFactory.getPlatformMBeanServer().getMBeanInfo(name).getOperations())
                .filter(info -> info.getName().equals(operationName))
                .filter(info -> types == null || Arrays.stream(info.getSignature()).map(MBeanParameterInfo::getType).toList().equals(types))
                .toList();
        if (matching.size() != 1) throw new IllegalArgumentException(name + " has no operation " + echo(requested));
        return matching.getFirst();
    }

    private static List<String> parameterTypes(String signature) {
        return signature.isBlank() ? List.of() : Arrays.stream(signature.split(",")).map(String::strip).toList();
    }

    /** A value as an error message repeats it: quoted if text, cut short if long. */
    private static String echo(Object value) {
        String text = String.valueOf(value);
        if (text.length() > ECHO_LIMIT) text = text.substring(0, ECHO_LIMIT) + "...";
        return value instanceof String ? "\"" + text + "\"" : text;
    }

    private static String describe(MBeanParameterInfo[] parameters) {
        if (parameters.length == 0) return "no arguments";
        String names = String.join(", ", Arrays.stream(parameters).map(MBeanParameterInfo::getName).toList());
        return parameters.length + (parameters.length == 1 ? " argument (" : " arguments (") + names + ")";
    }

    private static void requireWhole(MBeanOperationInfo operation, MBeanParameterInfo parameter, Object value, long min, long max) {
        BigDecimal number = switch (value) {
            case Number n -> decimal(n.toString());
            case String s -> decimal(s.strip());
            case null, default -> null;
        };
        boolean whole = number != null && number.stripTrailingZeros().scale() <= 0;
        if (!whole || number.compareTo(BigDecimal.valueOf(min)) < 0 || number.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw new IllegalArgumentException(operation.getName() + ": " + parameter.getName() + " must be a whole number from "
                    + min + " to " + max + ", not " + echo(value));
        }
    }

    /** The number a text spells; null if none, or if too long to be in any range here (a bound on the work). */
    private static BigDecimal decimal(String text) {
        if (text.length() > 64) return null;
        try {
            return new BigDecimal(text);
        } catch (NumberFormatException notANumber) {
            return null;
        }
    }
}
