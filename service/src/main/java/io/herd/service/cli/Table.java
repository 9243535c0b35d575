package io.herd.service.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A text table, its columns padded to their widest cell. A note row (a host's error, say) gives
 * its first cell and then free text that spans the other columns and widens none of them. Every
 * cell is made {@link Terminal#printable}: its values come from the services asked.
 */
final class Table {
    private final List<String[]> rows = new ArrayList<>();
    /** Indexes in {@link #rows} of the note rows. */
    private final List<Integer> notes = new ArrayList<>();

    Table(String... header) {
        rows.add(header);
    }

    void row(Object... cells) {
        String[] text = new String[cells.length];
        for (int i = 0; i < cells.length; i++) text[i] = Terminal.printable(String.valueOf(cells[i]));
        rows.add(text);
    }

    /** A row with {@code first} in the first column and {@code text} after it, across the others. */
    void note(Object first, String text) {
        notes.add(rows.size());
        rows.add(new String[] {Terminal.printable(String.valueOf(first)), Terminal.printable(text)});
    }

    void print(PrintStream out) {
        int[] widths = new int[rows.getFirst().length];
        for (int r = 0; r < rows.size(); r++) {
            String[] row = rows.get(r);
            int measured = notes.contains(r) ? 1 : row.length;
            for (int i = 0; i < measured; i++) widths[i] = Math.max(widths[i], row[i].length());
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(row[i]);
                if (i < row.length - 1) line.append(" ".repeat(widths[i] - row[i].length() + 2));
            }
            out.println(line.toString().stripTrailing());
        }
    }
}
