package io.herd.service.cli;

import java.util.Locale;

/** What the CLI prints that came from elsewhere (a hosts file, a remote service) goes through here. */
final class Terminal {
    private Terminal() {
    }

    /**
     * {@code text} as it can be shown on a terminal: control characters escaped ({@code \x1b}),
     * so that no value can move the cursor, clear the screen or forge a line; over 200 characters
     * cut, with "...".
     */
    static String printable(String text) {
        StringBuilder shown = new StringBuilder();
        text.codePoints().limit(200).forEach(c -> {
            if (Character.isISOControl(c)) shown.append(String.format(Locale.ROOT, "\\x%02x", c));
            else shown.appendCodePoint(c);
        });
        return text.codePointCount(0, text.length()) > 200 ? shown + "..." : shown.toString();
    }
}
