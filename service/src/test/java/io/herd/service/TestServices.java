package io.herd.service;

import io.herd.config.HerdConfig;

import java.util.Map;

/** For tests in other packages: a service configuration clustering hello (see {@link HelloCluster#config}). */
public final class TestServices {
    private TestServices() {
    }

    public static HerdConfig helloConfig(int instances, Map<String, String> settings) throws Exception {
        return HelloCluster.config(instances, settings);
    }
}
