package io.herd.service;

import java.util.List;
import java.util.Map;

/**
 * A test MXBean whose operation and attribute take the open types a JMX client sends: primitives,
 * a String, arrays, a list, a map (TabularData) and a record (CompositeData). Each call of
 * {@link #describe} also sends a notification of type {@link #DESCRIBED}.
 */
public interface ProbeMXBean {
    String DESCRIBED = "herd.test.described";

    /** A value an MXBean client sends as CompositeData. */
    record Sample(String name, int size) {
    }

    Sample getSample();

    void setSample(Sample sample);

    String describe(int number, long[] numbers, String text, List<String> words, Map<String, Integer> counts, Sample sample);
}
