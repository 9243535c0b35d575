package io.herd.mbeans;

import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanParameterInfo;
import javax.management.NotCompliantMBeanException;
import javax.management.NotificationEmitter;
import javax.management.StandardEmitterMBean;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * An MXBean whose MBeanInfo carries the {@link Description}s of its interface, so a JMX console
 * says what each attribute and operation means instead of repeating its name; and which sends the
 * notifications of {@code emitter}.
 */
public class DescribedMXBean<T> extends StandardEmitterMBean {
    private final Class<T> type;

    public DescribedMXBean(T implementation, Class<T> type, NotificationEmitter emitter) throws NotCompliantMBeanException {
        super(implementation, type, true, emitter);
        this.type = type;
    }

    @Override
    protected String getDescription(MBeanInfo info) {
        Description description = type.getAnnotation(Description.class);
        return description != null ? description.value() : super.getDescription(info);
    }

    @Override
    protected String getDescription(MBeanAttributeInfo info) {
        for (String prefix : new String[] {"get", "is"}) {
            Method getter = method(prefix + info.getName(), 0);
            if (getter != null && getter.isAnnotationPresent(Description.class)) return getter.getAnnotation(Description.class).value();
        }
        return super.getDescription(info);
    }

    @Override
    protected String getDescription(MBeanOperationInfo info) {
        Method operation = method(info.getName(), info.getSignature().length);
        return operation != null && operation.isAnnotationPresent(Description.class)
                ? operation.getAnnotation(Description.class).value() : super.getDescription(info);
    }

    @Override
    protected String getDescription(MBeanOperationInfo operation, MBeanParameterInfo parameter, int index) {
        Description description = parameterDescription(operation, index);
        return description != null ? description.value() : super.getDescription(operation, parameter, index);
    }

    @Override
    protected String getParameterName(MBeanOperationInfo operation, MBeanParameterInfo parameter, int index) {
        Description description = parameterDescription(operation, index);
        return description != null && !description.name().isEmpty() ? description.name() : super.getParameterName(operation, parameter, index);
    }

    private Description parameterDescription(MBeanOperationInfo operation, int index) {
        Method method = method(operation.getName(), operation.getSignature().length);
        if (method == null) return null;
        return Arrays.stream(method.getParameterAnnotations()[index]).filter(Description.class::isInstance)
                .map(Description.class::cast).findFirst().orElse(null);
    }

    private Method method(String name, int parameters) {
        for (Method method : type.getMethods()) {
            if (method.getName().equals(name) && method.getParameterCount() == parameters) return method;
        }
        return null;
    }
}
