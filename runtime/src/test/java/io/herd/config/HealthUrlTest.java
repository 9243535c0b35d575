package io.herd.config;

import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What a health check URL may be: nothing in it may end the request line or add a header. */
class HealthUrlTest {
    @Test
    void aPathIsAskedForWithTheDefaultHost() {
        HealthUrl url = HealthUrl.parse("/healthz");
        assertThat(url.path(), is("/healthz"));
        assertThat(url.hostHeader(), is("localhost"));
        assertThat(url.toString(), is("/healthz"));
    }

    @Test
    void aUrlsHostOnlyNamesTheHostHeader() {
        HealthUrl url = HealthUrl.parse("http://api.example.com:8080/status/ready?deep=1&x=%20");
        assertThat(url.hostHeader(), is("api.example.com:8080"));
        assertThat(url.path(), is("/status/ready?deep=1&x=%20"));
        assertThat(HealthUrl.parse(url.toString()), is(url));
        assertThat(HealthUrl.parse("HTTP://[::1]:9000").path(), is("/"));
        assertThat(HealthUrl.parse("http://localhost?q").path(), is("/?q"));
    }

    @Test
    void anythingThatCouldInjectIntoTheRequestOrIsNotPlainHttpIsRefusedSayingWhy() {
        assertThat(refused("https://example.com/healthz"), containsString("https is not supported"));
        assertThat(refused("/healthz#top"), containsString("fragment"));
        assertThat(refused("/health z"), containsString("space"));
        assertThat(refused("/healthz\r\nX-Injected: 1"), containsString("'/healthz\\u000d\\u000aX-Injected: 1' holds a space, a control character"));
        assertThat(refused("/h\u00e9alth"), containsString("non-ASCII"));
        assertThat(refused("/health%zz"), containsString("%-escaped"));
        assertThat(refused("/health\"<x>"), containsString("%-escaped"));
        assertThat(refused("http://user:pw@example.com/"), containsString("user name or password"));
        assertThat(refused("http://exa_mple.com/"), containsString("does not name a host[:port]"));
        assertThat(refused("http://example.com:70000/"), containsString("does not name a host[:port]"));
        assertThat(refused("ftp://example.com/"), containsString("is not a path such as /healthz, or a URL such as http://"));
        assertThat(refused("healthz"), containsString("is not a path such as /healthz"));
        assertThat(refused("/" + "a".repeat(HealthUrl.MAX_LENGTH)), containsString("longer than 1024"));
    }

    private static String refused(String text) {
        return assertThrows(IllegalArgumentException.class, () -> HealthUrl.parse(text)).getMessage();
    }
}
