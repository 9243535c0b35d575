package io.herd.config;

import java.util.ArrayList;
import java.util.List;

/**
 * A list of words written as one configuration value, as {@code jvm.options} and {@code args}
 * are: words are separated by whitespace; a word that holds whitespace or a double quote, or is
 * empty, is written in double quotes, inside which {@code \"} is a quote and {@code \\} a
 * backslash. Outside quotes a backslash is an ordinary character, so paths and {@code -D}
 * values need no escaping. As in a shell, quoted and unquoted parts next to each other make one
 * word: {@code -Dgreeting="hello world"} is the one word {@code -Dgreeting=hello world}.
 *
 * <p>{@link #join} writes what {@link #split} reads back word for word, whatever the words hold.
 */
public final class Words {
    private Words() {
    }

    /** The words {@code value} spells; empty for null or blank. */
    public static List<String> split(String value) {
        List<String> words = new ArrayList<>();
        if (value == null) return words;
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        boolean quoted = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (quoted) {
                if (c == '"') {
                    quoted = false;
                } else if (c == '\\' && i + 1 < value.length() && (value.charAt(i + 1) == '"' || value.charAt(i + 1) == '\\')) {
                    word.append(value.charAt(++i));
                } else {
                    word.append(c);
                }
            } else if (Character.isWhitespace(c)) {
                if (inWord) words.add(word.toString());
                word.setLength(0);
                inWord = false;
            } else {
                inWord = true;
                if (c == '"') quoted = true;
                else word.append(c);
            }
        }
        if (quoted) throw new IllegalArgumentException("a double quote is not closed");
        if (inWord) words.add(word.toString());
        return words;
    }

    /** One value that {@link #split} reads back as {@code words}. */
    public static String join(List<String> words) {
        StringBuilder value = new StringBuilder();
        for (String word : words) {
            if (!value.isEmpty()) value.append(' ');
            if (!word.isEmpty() && word.chars().noneMatch(c -> c == '"' || Character.isWhitespace(c))) {
                value.append(word);
                continue;
            }
            value.append('"');
            for (char c : word.toCharArray()) {
                if (c == '"' || c == '\\') value.append('\\');
                value.append(c);
            }
            value.append('"');
        }
        return value.toString();
    }
}
