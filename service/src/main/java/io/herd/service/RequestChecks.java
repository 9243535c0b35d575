package io.herd.service;

import org.jolokia.server.core.request.EmptyResponseException;
import org.jolokia.server.core.request.JolokiaExecRequest;
import org.jolokia.server.core.request.JolokiaRequest;
import org.jolokia.server.core.request.NotChangedException;
import org.jolokia.server.core.service.request.AbstractRequestHandler;
import org.jolokia.server.core.service.request.RequestHandler;

import javax.management.JMException;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanParameterInfo;
import javax.management.ObjectName;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;

/**
 * What herd refuses over Jolokia before Jolokia acts on it, answered with a 400 naming the reason.
 *
 * <ul>
 *   <li><b>An operation of herd's with arguments that do not match its signature.</b> Jolokia is
 *   lenient where an operator's typo must not act: it converts 1.5 to an int by truncating it, and
 *   takes arguments past an operation's last parameter as a path into the result, so
 *   {@code scale(1.5)} would scale to 1 and {@code reload(1)} would reload. Here the number of
 *   arguments must match, and an {@code int} or {@code long} parameter takes only a whole number in
 *   its range (a JSON number, or its text as in a GET URL) — as a JMX client is held by JMX.</li>
 *   <li><b>A proxy request</b> (one with a {@code target}): herd ships without Jolokia's JSR-160
 *   proxy, and Jolokia would otherwise answer it from this JVM as if it were the target.</li>
 * </ul>
 * A request that passes goes on, unchanged, to Jolokia's own handler.
 */
final class RequestChecks extends AbstractRequestHandler {
    /** Ahead of Jolokia's local JMX handler (order 1000), which would take the request otherwise. */
    private static final int ORDER = 10;

    RequestChecks() {
        super("herd", ORDER);
    }

    @Override
    public boolean canHandle(JolokiaRequest request) {
        return request.getOption("target") != null || (request instanceof JolokiaExecRequest exec
                && "herd".equals(exec.getObjectName().getDomain()) && !exec.getObjectName().isPattern());
    }

    @Override
    public <R extends JolokiaRequest> Object handleRequest(R request, Object previous)
            throws JMException, IOException, NotChangedException, EmptyResponseException {
        if (request.getOption("target") != null) {
            throw new IllegalArgumentException("proxy requests (with a target) are not served here: ask the target's own agent");
        }
        checkArguments((JolokiaExecRequest) request);
        for (RequestHandler next : getJolokiaContext().getServices(RequestHandler.class)) {
            if (next != this && next.canHandle(request)) return next.handleRequest(request, previous);
        }
        throw new IllegalStateException("no Jolokia handler takes " + request);
    }

    private static void checkArguments(JolokiaExecRequest exec) throws JMException {
        MBeanOperationInfo operation = operation(exec.getObjectName(), exec.getOperation());
        if (operation == null) return; // unknown or overloaded: Jolokia's own answer names the problem
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

    /** The operation a request names, as {@code scale} or {@code scale(int)}; null if not exactly one matches. */
    private static MBeanOperationInfo operation(ObjectName name, String requested) throws JMException {
        int paren = requested.indexOf('(');
        String operationName = paren < 0 ? requested : requested.substring(0, paren);
        List<MBeanOperationInfo> matching = Arrays.stream(ManagementFactory.getPlatformMBeanServer().getMBeanInfo(name).getOperations())
                .filter(info -> info.getName().equals(operationName))
                .filter(info -> paren < 0 || signature(info).equals(requested.substring(paren).replace(" ", "")))
                .toList();
        return matching.size() == 1 ? matching.getFirst() : null;
    }

    private static String signature(MBeanOperationInfo info) {
        return "(" + String.join(",", Arrays.stream(info.getSignature()).map(MBeanParameterInfo::getType).toList()) + ")";
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
                    + min + " to " + max + ", not " + (value instanceof String ? "\"" + value + "\"" : value));
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
