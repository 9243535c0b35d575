package io.herd.service;

import io.herd.HerdWorker;

import java.net.InetSocketAddress;

/**
 * A worker that, once ready, writes one line to stdout and one to stderr holding what could break
 * a log format or forge a log's fields: quotes, backslashes, a JSON object of its own, non-ASCII
 * text, and a line of 64,006 characters; then it idles until herd stops it.
 */
public final class TrickyLines {
    /** The line, after "out: " or "err: ". */
    static final String LINE = "said \"hi\" in C:\\temp\\ {\"level\":\"FATAL\",\"app\":\"forged\",\"pid\":1} été 日本 🐑 \\u0041";

    /**
     * A line near the longest herd keeps whole (WorkerOutput.MAX_LINE, 64 KiB): longer than a JSON
     * layout's default string limit (16 Ki characters), which would cut it.
     */
    static final String LONG_LINE = "long: " + "0123456789abcdef".repeat(4000);

    public static void main(String[] args) throws Exception {
        HerdWorker worker = HerdWorker.start(new InetSocketAddress("127.0.0.1", 0));
        worker.ready();
        System.out.println("out: " + LINE);
        System.err.println("err: " + LINE);
        System.out.println(LONG_LINE);
        Thread.sleep(Long.MAX_VALUE);
    }
}
