package io.herd.mbeans;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What an MBean attribute, operation or parameter means, as JConsole, VisualVM and Jolokia's
 * {@code list} show it. On a getter it describes the attribute; on a parameter, the parameter.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.PARAMETER, ElementType.TYPE})
public @interface Description {
    String value();

    /** A parameter's name, since MXBean introspection only knows p0, p1... */
    String name() default "";
}
