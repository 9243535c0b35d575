package io.herd.service;

/**
 * How one app looks to a load balancer in front of the host: what HAProxy's agent check
 * ({@link AgentChecks}) and the HTTP health endpoint ({@link HealthEndpoint}) say, and nothing
 * else says it. Worked out on demand by {@link #of}, from facts herd has anyway, in this order of
 * precedence, the first that holds winning:
 * <ol>
 *   <li>{@link State#DRAIN}: the service is stopping (its {@code herd.drain.delay} included), or
 *       the app is ({@code stopApp}, its drain delay included). A balancer should send no new
 *       client while established ones finish; first, because a stopping service's apps are still
 *       online and would otherwise look UP, and a stopped app of a stopping service is going away
 *       all the same;</li>
 *   <li>{@link State#MAINT}: the app is stopped ({@code stopApp}): an operator's choice, which
 *       HAProxy shows as maintenance, not as a failure;</li>
 *   <li>{@link State#DOWN}: the app runs but no worker is online (none could start, or it was
 *       scaled to 0);</li>
 *   <li>{@link State#UP}, with a weight: the percentage of its instances online, rounded down,
 *       at least 1 (1 of 3 is 33%; 1 of 300 is still 1%, never 0, which HAProxy would take as
 *       "send nothing"). More online than configured (during a reload's surge) is 100%.</li>
 * </ol>
 *
 * @param state  what the balancer should do with the host, for this app
 * @param weight for {@link State#UP}, 1 to 100: the share of the app's instances online; 0 otherwise
 */
record Availability(State state, int weight) {
    /** The four states of HAProxy's agent check, which the health endpoint's answers follow. */
    enum State {
        UP, DRAIN, MAINT, DOWN;

        /** As the agent check and the health endpoint spell it: {@code up}, {@code drain}... */
        String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    static final Availability DRAINING = new Availability(State.DRAIN, 0);
    static final Availability STOPPED = new Availability(State.MAINT, 0);
    static final Availability NONE_ONLINE = new Availability(State.DOWN, 0);

    Availability {
        if ((state == State.UP) != (weight >= 1 && weight <= 100)) {
            throw new IllegalArgumentException(state + " with weight " + weight + ": only up has one, from 1 to 100");
        }
    }

    /**
     * The one rule (see the class comment for the order).
     *
     * @param serviceDraining the service is stopping, or in its drain delay
     * @param appDraining     the app is stopping, or in its drain delay
     * @param appStopped      the app is stopped (listed by {@code getStoppedApps})
     * @param online          its workers in rotation now
     * @param instances       how many it is meant to have now (after any scale)
     */
    static Availability of(boolean serviceDraining, boolean appDraining, boolean appStopped, int online, int instances) {
        if (serviceDraining || appDraining) return DRAINING;
        if (appStopped) return STOPPED;
        if (online <= 0) return NONE_ONLINE;
        int percent = instances <= 0 || online >= instances ? 100 : (int) ((long) online * 100 / instances);
        return new Availability(State.UP, Math.max(1, percent));
    }

    /**
     * HAProxy's agent-check answer, one line: {@code up ready 66%}, {@code drain}, {@code maint} or
     * {@code down}. HAProxy keeps what an agent said until the agent says otherwise ("only the
     * agent may revert its own actions"): {@code drain} and {@code maint} set the server's
     * administrative state, which only {@code ready} clears, and {@code down} its operating
     * state, which only {@code up} clears. So the serving answer says all three, and a host back
     * from a drain or a stop is taken back in.
     */
    String agentLine() {
        return (state == State.UP ? "up ready " + weight + "%" : state.word()) + "\n";
    }

    /** True when a balancer should send new clients here. */
    boolean serving() {
        return state == State.UP;
    }
}
