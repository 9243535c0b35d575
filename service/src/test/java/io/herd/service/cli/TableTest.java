package io.herd.service.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** What a remote service answers reaches the operator's terminal only as text, never as control sequences. */
class TableTest {
    private static String printed(Table table) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        table.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aCellsControlCharactersArePrintedEscapedAndPadTheColumnAsShown() {
        Table table = new Table("HOST", "APP", "ONLINE");
        table.row("h1", "web\u001b[2J\rforged", 2);
        table.row("h2", "api", 1);

        assertThat(printed(table), is("""
                HOST  APP                   ONLINE
                h1    web\\x1b[2J\\x0dforged  2
                h2    api                   1
                """));
    }

    @Test
    void aNotesTextIsEscapedAndCutToo() {
        Table table = new Table("HOST", "APP");
        table.note("h1", "refused\n" + "x".repeat(300));

        assertThat(printed(table), is("HOST  APP\nh1    refused\\x0a" + "x".repeat(192) + "...\n"));
    }
}
