package io.herd.service;

import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** The one rule for how an app looks to a balancer: its precedence, and the weight's rounding. */
class AvailabilityTest {
    private static String line(boolean serviceDraining, boolean appDraining, boolean stopped, int online, int instances) {
        return Availability.of(serviceDraining, appDraining, stopped, online, instances).agentLine();
    }

    @Test
    void theWeightIsTheShareOfInstancesOnlineRoundedDownNeverZero() {
        assertThat(line(false, false, false, 2, 2), is("up ready 100%\n"));
        assertThat(line(false, false, false, 2, 3), is("up ready 66%\n"));
        assertThat(line(false, false, false, 1, 3), is("up ready 33%\n"));
        assertThat("one of 300 still gets some traffic", line(false, false, false, 1, 300), is("up ready 1%\n"));
        assertThat("a reload's surge is not more than full", line(false, false, false, 4, 3), is("up ready 100%\n"));
    }

    @Test
    void drainComesFirstThenMaintThenDown() {
        assertThat("a stopping service's apps are online, and drain", line(true, false, false, 2, 2), is("drain\n"));
        assertThat("a stopping service's stopped app drains too", line(true, false, true, 0, 0), is("drain\n"));
        assertThat("an app in stopApp's drain delay", line(false, true, false, 2, 2), is("drain\n"));
        assertThat("a stopped app is maintenance, not a failure", line(false, false, true, 0, 0), is("maint\n"));
        assertThat("no worker online", line(false, false, false, 0, 2), is("down\n"));
        assertThat("scaled to 0", line(false, false, false, 0, 0), is("down\n"));
    }

    @Test
    void onlyUpServesForTheHealthEndpoint() {
        assertThat(Availability.of(false, false, false, 1, 2).serving(), is(true));
        assertThat(Availability.DRAINING.serving(), is(false));
        assertThat(Availability.STOPPED.serving(), is(false));
        assertThat(Availability.NONE_ONLINE.serving(), is(false));
    }
}
