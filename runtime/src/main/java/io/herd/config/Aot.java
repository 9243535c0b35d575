package io.herd.config;

/** Whether herd gives an app's workers a JDK AOT cache (JEP 483, 514, 515); written auto or off. */
public enum Aot {
    /**
     * herd trains a cache from a worker's own run (written when herd stops that worker), keeps it
     * under {@code var/aot/}, and starts later workers with it. Apps on a class path with
     * directories run without: the JDK caches only classes from jars.
     */
    AUTO,
    /** No AOT cache: the workers' command line is the app's alone. */
    OFF
}
