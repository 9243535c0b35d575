package io.herd.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Follows the HTTP/1.1 messages of one relayed connection, both ways ({@code app.<name>.proxy.http}),
 * so that a draining worker's keep-alive connection can be closed right after a complete response,
 * with {@code Connection: close} added to that response, instead of being cut at kill.timeout.
 *
 * <p>It only watches: the relay feeds it each read's bytes as they are, and writes them on
 * unchanged but for that one inserted field. Start lines, field lines and chunk-size lines are
 * scanned byte by byte, within bounds ({@link #MAX_LINE}, {@link #MAX_HEAD}); bodies (by
 * Content-Length, or chunk data) are skipped by arithmetic, never scanned or copied. Nothing is
 * allocated per message. Both peers may be hostile: whatever it cannot follow for certain — bad
 * syntax either way, a line or head over its bound, pipelined requests, an Upgrade or CONNECT,
 * a response delimited by the connection's close, bytes with no request to answer — turns it
 * {@linkplain #plain() plain} for good, and the connection is relayed as plain bytes, as without
 * it. That is never an error.
 *
 * <p>One per relayed connection, used by its relay thread only.
 */
final class HttpFraming {
    /** The longest start line or chunk-size line followed. */
    static final int MAX_LINE = 8 * 1024;
    /** The longest head (start line and fields), or trailer section, followed. */
    static final int MAX_HEAD = 64 * 1024;
    /** Field names kept to be told apart; longer ones are none of the few that matter. */
    private static final int NAME_MAX = 32;
    /** A Content-Length or Transfer-Encoding value longer than this is not followed. */
    private static final int VALUE_MAX = 64;

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte[] HTTP_1 = {'H', 'T', 'T', 'P', '/', '1', '.'};
    private static final byte[] HEAD = {'H', 'E', 'A', 'D'};
    private static final byte[] CONNECT = {'C', 'O', 'N', 'N', 'E', 'C', 'T'};
    private static final byte[] CONTENT_LENGTH = lowerAscii("content-length");
    private static final byte[] TRANSFER_ENCODING = lowerAscii("transfer-encoding");
    private static final byte[] UPGRADE = lowerAscii("upgrade");
    private static final byte[] CHUNKED = lowerAscii("chunked");

    // Parser states
    private static final int START = 0;
    private static final int FIELD_NAME = 1;
    private static final int FIELD_VALUE = 2;
    private static final int BODY = 3;
    private static final int CHUNK_SIZE = 4;
    private static final int CHUNK_EXTENSION = 5;
    private static final int CHUNK_DATA = 6;
    private static final int CHUNK_END = 7;

    // The fields that matter
    private static final int OTHER = 0;
    private static final int FIELD_CONTENT_LENGTH = 1;
    private static final int FIELD_TRANSFER_ENCODING = 2;
    private static final int FIELD_UPGRADE = 3;

    private final Parser requests = new Parser(true);
    private final Parser responses = new Parser(false);
    /** Why the connection is relayed as plain bytes; null while its messages are followed. */
    private String plainBecause;

    // The exchange in progress: a request, and its response (after any interim 1xx ones)
    /** A request began and its final response has not ended. */
    private boolean exchangeOpen;
    /** The request's head has ended: its response may begin. */
    private boolean requestHeadEnded;
    /** The whole request has ended. */
    private boolean requestEnded;
    /** The request is a HEAD: its response has no body, whatever its fields say. */
    private boolean headRequest;
    /** The worker was draining as this response's status line ended: it carries {@code Connection: close}. */
    private boolean marked;
    /** ...and it has ended, with nothing after it. */
    private boolean markedEnded;

    // What the last worker bytes fed call for
    private boolean draining;
    private int insertAt = -1;

    /** Feeds bytes read from the client, from the buffer's position to its limit (which it leaves as they are). */
    void fromClient(ByteBuffer bytes) {
        if (plainBecause != null) return;
        if (marked && bytes.hasRemaining()) {
            plain("a request after the response that closes the connection");
            return;
        }
        requests.feed(bytes);
    }

    /**
     * Feeds bytes read from the worker, from the buffer's position to its limit (which it leaves
     * as they are). When {@code draining} as a final response's status line ends, that response
     * is marked to close the connection: {@link #insertAt()} says where {@code Connection: close}
     * goes, and {@link #closeNow()} turns true once the response has ended.
     */
    void fromWorker(ByteBuffer bytes, boolean draining) {
        insertAt = -1;
        if (plainBecause != null) return;
        this.draining = draining;
        responses.feed(bytes);
    }

    /**
     * Where, in the buffer last fed to {@link #fromWorker}, a {@code Connection: close\r\n} field
     * goes: right after the marked response's status line. -1 when it does not go in these bytes.
     */
    int insertAt() {
        return insertAt;
    }

    /** The response marked to close has ended, and nothing followed it either way: once it is written, close. */
    boolean closeNow() {
        return markedEnded && plainBecause == null;
    }

    /** True once the connection is relayed as plain bytes, for good. */
    boolean plain() {
        return plainBecause != null;
    }

    /** Why the connection is relayed as plain bytes, or null while its messages are followed. */
    String plainBecause() {
        return plainBecause;
    }

    private void plain(String why) {
        if (plainBecause == null) plainBecause = why;
    }

    // ---- the exchange: which bytes may come when

    /** The first byte of a request. */
    private boolean requestBegins() {
        if (exchangeOpen) {
            plain("pipelined requests");
            return false;
        }
        exchangeOpen = true;
        requestHeadEnded = false;
        requestEnded = false;
        headRequest = false;
        return true;
    }

    /** The first byte of a response, interim or final. */
    private boolean responseBegins() {
        if (!exchangeOpen || !requestHeadEnded) {
            plain("response bytes with no request to answer");
            return false;
        }
        return true;
    }

    /** A final response's status line has just ended, at {@code end} (the index after its LF). */
    private void finalStatusLineEnded(int end) {
        if (draining && !marked) {
            marked = true;
            insertAt = end;
        }
    }

    private void requestMessageEnded() {
        requestEnded = true;
    }

    private void finalResponseEnded() {
        if (!requestEnded) {
            plain("a response that ended before its request");
            return;
        }
        exchangeOpen = false;
        if (marked) markedEnded = true;
    }

    // ---- one direction's messages

    /** Follows the messages of one direction, byte by byte where it must, by arithmetic through bodies. */
    private final class Parser {
        final boolean ofRequests;
        final byte[] name = new byte[NAME_MAX];
        final byte[] value = new byte[VALUE_MAX];

        /** Between two messages: the next byte begins one. */
        boolean between = true;
        int state = START;
        boolean cr;
        int lineLength;
        int headLength;
        /** Start line: which part (method or version, target or status, version or reason), and its length so far. */
        int part;
        int partLength;
        int status;
        boolean connect;
        boolean trailers;
        int nameLength;
        int field;
        boolean valueStarted;
        int valueLength;
        long contentLength = -1;
        boolean transferEncoding;
        boolean chunkedLast;
        boolean upgrade;
        /** Body or chunk-data bytes still to come; a chunk size being read. */
        long remaining;
        int chunkDigits;

        Parser(boolean ofRequests) {
            this.ofRequests = ofRequests;
        }

        void feed(ByteBuffer bytes) {
            int limit = bytes.limit();
            int i = bytes.position();
            boolean bigEndian = bytes.order() == ByteOrder.BIG_ENDIAN;
            // Bytes are taken from a word of 8 read at once (first byte lowest): a buffer's get is a costly call for one byte.
            long word = 0;
            int wordAt = i - Long.BYTES;
            while (i < limit && plainBecause == null) {
                if (state == BODY || state == CHUNK_DATA) {
                    int skipped = (int) Math.min(remaining, limit - i);
                    i += skipped;
                    remaining -= skipped;
                    if (remaining == 0) {
                        if (state == BODY) messageEnded();
                        else state = CHUNK_END;
                    }
                    continue;
                }
                if (between) {
                    if (!(ofRequests ? requestBegins() : responseBegins())) return;
                    begin();
                }
                if (!cr && (state == FIELD_VALUE || state == START || state == CHUNK_EXTENSION)) {
                    int run = textRun(bytes, i, limit, bigEndian);
                    if (run > 0) {
                        i += run;
                        skipped(run);
                        continue;
                    }
                }
                if (i - wordAt >= Long.BYTES) {
                    if (limit - i < Long.BYTES) {
                        take(bytes.get(i), i);
                        i++;
                        continue;
                    }
                    long eight = bytes.getLong(i);
                    word = bigEndian ? Long.reverseBytes(eight) : eight;
                    wordAt = i;
                }
                take((byte) (word >>> ((i - wordAt) << 3)), i);
                i++;
            }
        }

        /**
         * How many bytes from {@code i} on are text that the current part of a line takes as it is
         * (a field value not kept, a request target, a reason phrase, a chunk extension): printable
         * ASCII (for a target, without SP), looked at 8 at a time. The byte that ends the run (CR,
         * SP, HTAB, obs-text, a control byte) and the last few are left to {@link #take}.
         */
        private int textRun(ByteBuffer bytes, int i, int limit, boolean bigEndian) {
            int lowest;
            if (state == FIELD_VALUE && valueStarted && field != FIELD_CONTENT_LENGTH && field != FIELD_TRANSFER_ENCODING) {
                lowest = ' ';
            } else if (state == START && part == (ofRequests ? 1 : 2)) {
                lowest = ofRequests ? '!' : ' ';
            } else if (state == CHUNK_EXTENSION) {
                lowest = ' ';
            } else {
                return 0;
            }
            int j = i;
            while (limit - j >= Long.BYTES) {
                long eight = bytes.getLong(j);
                long notText = notText(bigEndian ? Long.reverseBytes(eight) : eight, lowest);
                if (notText != 0) return j - i + (Long.numberOfTrailingZeros(notText) >>> 3);
                j += Long.BYTES;
            }
            return j - i;
        }

        /** {@code run} bytes of text taken by {@link #textRun}: counted against the bounds of their line and head. */
        private void skipped(int run) {
            lineLength += run;
            switch (state) {
                case START -> {
                    partLength += run;
                    headLength += run;
                    if (lineLength > MAX_LINE) plain("a start line over " + MAX_LINE + " bytes");
                }
                case FIELD_VALUE -> {
                    headLength += run;
                    if (headLength > MAX_HEAD) plain("a head over " + MAX_HEAD + " bytes");
                }
                default -> {
                    if (lineLength > MAX_LINE) plain("a chunk-size line over " + MAX_LINE + " bytes");
                }
            }
        }

        private void begin() {
            between = false;
            state = START;
            cr = false;
            lineLength = 0;
            headLength = 0;
            part = 0;
            partLength = 0;
            status = 0;
            connect = false;
            trailers = false;
            contentLength = -1;
            transferEncoding = false;
            chunkedLast = false;
            upgrade = false;
            remaining = 0;
            chunkDigits = 0;
        }

        /** One byte of a line: a start line, a field line, a chunk-size line, or the CRLF after chunk data. */
        private void take(byte b, int index) {
            if (cr) {
                if (b != LF) {
                    plain("a CR not followed by LF");
                    return;
                }
                cr = false;
                lineEnded(index + 1);
                lineLength = 0;
                return;
            }
            if (b == CR) {
                cr = true;
                return;
            }
            if (b == LF) {
                plain("a line ended by a bare LF");
                return;
            }
            lineLength++;
            switch (state) {
                case START -> {
                    headLength++;
                    if (lineLength > MAX_LINE) plain("a start line over " + MAX_LINE + " bytes");
                    else if (ofRequests) requestLine(b);
                    else statusLine(b);
                }
                case FIELD_NAME -> {
                    if (++headLength > MAX_HEAD) plain("a head over " + MAX_HEAD + " bytes");
                    else fieldName(b);
                }
                case FIELD_VALUE -> {
                    if (++headLength > MAX_HEAD) plain("a head over " + MAX_HEAD + " bytes");
                    else fieldValue(b);
                }
                case CHUNK_SIZE -> chunkSize(b);
                case CHUNK_EXTENSION -> {
                    if (lineLength > MAX_LINE) plain("a chunk-size line over " + MAX_LINE + " bytes");
                    else if (!fieldContent(b)) plain("a control byte in a chunk extension");
                }
                default -> plain("chunk data longer than its size"); // CHUNK_END: only CRLF may come
            }
        }

        private void lineEnded(int end) {
            switch (state) {
                case START -> {
                    if (ofRequests) requestLineEnded();
                    else statusLineEnded(end);
                }
                case FIELD_NAME -> {
                    if (lineLength > 0) plain("a field line without a colon");
                    else if (trailers) messageEnded();
                    else if (ofRequests) requestHeadEnded();
                    else responseHeadEnded();
                }
                case FIELD_VALUE -> {
                    if (!trailers) fieldEnded();
                    state = FIELD_NAME;
                }
                case CHUNK_SIZE, CHUNK_EXTENSION -> chunkLineEnded();
                default -> startChunk(); // CHUNK_END: the CRLF after a chunk's data
            }
        }

        // -- start lines

        /** {@code method SP target SP HTTP/1.x}. */
        private void requestLine(byte b) {
            switch (part) {
                case 0 -> {
                    if (b == ' ' && partLength > 0) {
                        headRequest = same(name, partLength, HEAD);
                        connect = same(name, partLength, CONNECT);
                        nextPart();
                    } else if (isTokenByte(b)) {
                        if (partLength < NAME_MAX) name[partLength] = b;
                        partLength++;
                    } else {
                        plain("a bad request method");
                    }
                }
                case 1 -> {
                    if (b == ' ' && partLength > 0) nextPart();
                    else if (b > ' ' && b != 0x7f) partLength++; // bytes are signed: obs-text (>= 0x80) is negative
                    else if (b < 0) partLength++;
                    else plain("a bad request target");
                }
                default -> version(b);
            }
        }

        private void requestLineEnded() {
            if (part != 2 || partLength != HTTP_1.length + 1) {
                plain("a bad request line");
                return;
            }
            if (connect) {
                plain("a CONNECT request");
                return;
            }
            state = FIELD_NAME;
        }

        /** {@code HTTP/1.x SP 3DIGIT SP reason}, the reason and the SP before it optional. */
        private void statusLine(byte b) {
            switch (part) {
                case 0 -> {
                    if (b == ' ' && partLength == HTTP_1.length + 1) {
                        part = 1;
                        partLength = 0;
                    } else {
                        version(b);
                    }
                }
                case 1 -> {
                    if (b == ' ' && partLength == 3) {
                        nextPart();
                    } else if (b >= '0' && b <= '9' && partLength < 3) {
                        status = status * 10 + (b - '0');
                        partLength++;
                    } else {
                        plain("a bad status code");
                    }
                }
                default -> {
                    if (!fieldContent(b)) plain("a control byte in a reason phrase");
                }
            }
        }

        private void statusLineEnded(int end) {
            if (part == 0 || partLength < 3 && part == 1 || status < 100 || status > 599) {
                plain("a bad status line");
                return;
            }
            if (status == 101) {
                plain("an upgrade (101)");
                return;
            }
            if (status >= 200) finalStatusLineEnded(end);
            state = FIELD_NAME;
        }

        /** {@code HTTP/1.0} or {@code HTTP/1.1}, one byte at a time. */
        private void version(byte b) {
            boolean ok = partLength < HTTP_1.length ? b == HTTP_1[partLength] : partLength == HTTP_1.length && (b == '0' || b == '1');
            if (ok) partLength++;
            else plain("a version other than HTTP/1.0 or HTTP/1.1");
        }

        private void nextPart() {
            part++;
            partLength = 0;
        }

        // -- fields

        private void fieldName(byte b) {
            if (lineLength == 1 && (b == ' ' || b == '\t')) {
                plain("a folded field line");
            } else if (b == ':' && lineLength > 1) {
                field = trailers ? OTHER : fieldOf(lineLength - 1);
                valueStarted = false;
                valueLength = 0;
                state = FIELD_VALUE;
            } else if (isTokenByte(b)) {
                if (lineLength <= NAME_MAX) name[lineLength - 1] = lower(b);
            } else {
                plain("a bad field name");
            }
        }

        private int fieldOf(int length) {
            if (same(name, length, CONTENT_LENGTH)) return FIELD_CONTENT_LENGTH;
            if (same(name, length, TRANSFER_ENCODING)) return FIELD_TRANSFER_ENCODING;
            if (same(name, length, UPGRADE)) return FIELD_UPGRADE;
            return OTHER;
        }

        private void fieldValue(byte b) {
            if (!valueStarted && (b == ' ' || b == '\t')) return; // leading whitespace
            if (!fieldContent(b)) {
                plain("a control byte in a field value");
                return;
            }
            valueStarted = true;
            if (field != FIELD_CONTENT_LENGTH && field != FIELD_TRANSFER_ENCODING) return;
            if (valueLength == VALUE_MAX) plain("a Content-Length or Transfer-Encoding over " + VALUE_MAX + " bytes");
            else value[valueLength++] = b;
        }

        private void fieldEnded() {
            while (valueLength > 0 && (value[valueLength - 1] == ' ' || value[valueLength - 1] == '\t')) valueLength--;
            switch (field) {
                case FIELD_CONTENT_LENGTH -> contentLength();
                case FIELD_TRANSFER_ENCODING -> transferEncoding();
                case FIELD_UPGRADE -> upgrade = true;
                default -> {
                    // not one that frames the message
                }
            }
        }

        /** Digits only (no list); repeated fields must agree. */
        private void contentLength() {
            if (valueLength == 0 || valueLength > 18) {
                plain("a bad Content-Length");
                return;
            }
            long length = 0;
            for (int i = 0; i < valueLength; i++) {
                byte b = value[i];
                if (b < '0' || b > '9') {
                    plain("a bad Content-Length");
                    return;
                }
                length = length * 10 + (b - '0');
            }
            if (contentLength >= 0 && contentLength != length) plain("Content-Length fields that disagree");
            else contentLength = length;
        }

        /** A list of codings, fields after fields: chunked may only be the last. */
        private void transferEncoding() {
            transferEncoding = true;
            int i = 0;
            while (i <= valueLength) {
                int end = i;
                while (end < valueLength && value[end] != ',') end++;
                int from = i;
                int to = end;
                while (from < to && (value[from] == ' ' || value[from] == '\t')) from++;
                while (to > from && (value[to - 1] == ' ' || value[to - 1] == '\t')) to--;
                if (to > from) {
                    if (chunkedLast) {
                        plain("a transfer coding after chunked");
                        return;
                    }
                    chunkedLast = to - from == CHUNKED.length && sameIgnoringCase(value, from, CHUNKED);
                }
                i = end + 1;
            }
        }

        private void requestHeadEnded() {
            requestHeadEnded = true;
            if (upgrade) {
                plain("an Upgrade request");
            } else if (transferEncoding) {
                chunkedBody(true);
            } else if (contentLength > 0) {
                remaining = contentLength;
                state = BODY;
            } else {
                messageEnded();
            }
        }

        private void responseHeadEnded() {
            if (status < 200 || headRequest || status == 204 || status == 304) {
                messageEnded();
            } else if (transferEncoding) {
                chunkedBody(false);
            } else if (contentLength > 0) {
                remaining = contentLength;
                state = BODY;
            } else if (contentLength == 0) {
                messageEnded();
            } else {
                plain("a response delimited by the connection's close");
            }
        }

        private void chunkedBody(boolean request) {
            if (contentLength >= 0) plain("both Content-Length and Transfer-Encoding");
            else if (!chunkedLast) plain(request ? "a request Transfer-Encoding not ending in chunked" : "a response delimited by the connection's close");
            else startChunk();
        }

        // -- chunks

        private void startChunk() {
            state = CHUNK_SIZE;
            remaining = 0;
            chunkDigits = 0;
        }

        private void chunkSize(byte b) {
            int digit = hexDigit(b);
            if (digit >= 0) {
                if (++chunkDigits > 15) plain("a chunk size over 15 hex digits");
                else remaining = remaining * 16 + digit;
            } else if (chunkDigits > 0 && (b == ';' || b == ' ' || b == '\t')) {
                state = CHUNK_EXTENSION;
            } else {
                plain("a bad chunk size");
            }
        }

        private void chunkLineEnded() {
            if (chunkDigits == 0) {
                plain("a bad chunk size");
            } else if (remaining == 0) {
                trailers = true; // the last chunk: trailer fields, then an empty line
                headLength = 0;
                state = FIELD_NAME;
            } else {
                state = CHUNK_DATA;
            }
        }

        private void messageEnded() {
            between = true;
            state = START;
            if (ofRequests) {
                requestMessageEnded();
            } else if (status >= 200) {
                finalResponseEnded();
            }
            // an interim response (1xx): the final one is still to come
        }
    }

    // ---- bytes

    /** A tchar of RFC 9110: what methods and field names are made of. */
    private static boolean isTokenByte(byte b) {
        if (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') return true;
        return switch (b) {
            case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~' -> true;
            default -> false;
        };
    }

    /** HTAB, SP, VCHAR or obs-text: what a field value, a reason phrase or a chunk extension may hold. */
    private static boolean fieldContent(byte b) {
        return b == '\t' || b >= ' ' && b != 0x7f || b < 0;
    }

    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    /**
     * The high bit of each byte of {@code eight} (the first byte lowest) that is not text: below
     * {@code lowest} (at most 0x80), DEL, or 0x80 and above. Exact for the lowest such byte, which
     * is all that is asked (the subtractions' borrows only run towards later bytes).
     */
    private static long notText(long eight, int lowest) {
        long below = (eight - ONES * lowest) & ~eight & HIGH_BITS;
        long xorDel = eight ^ (ONES * 0x7f);
        long del = (xorDel - ONES) & ~xorDel & HIGH_BITS;
        return below | del | (eight & HIGH_BITS);
    }

    private static int hexDigit(byte b) {
        if (b >= '0' && b <= '9') return b - '0';
        if (b >= 'a' && b <= 'f') return b - 'a' + 10;
        if (b >= 'A' && b <= 'F') return b - 'A' + 10;
        return -1;
    }

    private static byte lower(byte b) {
        return b >= 'A' && b <= 'Z' ? (byte) (b + ('a' - 'A')) : b;
    }

    private static boolean same(byte[] kept, int length, byte[] expected) {
        if (length != expected.length) return false;
        for (int i = 0; i < length; i++) {
            if (kept[i] != expected[i]) return false;
        }
        return true;
    }

    private static boolean sameIgnoringCase(byte[] bytes, int from, byte[] lowerCase) {
        for (int i = 0; i < lowerCase.length; i++) {
            if (lower(bytes[from + i]) != lowerCase[i]) return false;
        }
        return true;
    }

    private static byte[] lowerAscii(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
