package io.herd.ipc;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The IPC protocol's versions, and the handshake that agrees on one (docs/IPC.md).
 *
 * <p>Every channel starts with a HELLO from the worker, answered by a HELLO from the master.
 * Each carries the newest and the oldest protocol version its sender speaks and its herd
 * version; the channel speaks the older of the two newest, unless that is older than either
 * side's oldest, and then the side that sees it refuses the other with one line saying what to
 * rebuild or upgrade. Version 1 was the wire before the handshake: its workers send READY (or
 * anything but a HELLO) first, which is how they are told apart.
 */
public final class Protocol {
    /**
     * The newest protocol version this code speaks. IPC 3 added HANDOFFS, LISTENER, ACKS and
     * ACCEPTED (batched handoff, shared dispatch); a channel agreed at 2 carries none of them.
     */
    public static final int VERSION = 3;
    /** The oldest protocol version this code still speaks. */
    public static final int OLDEST = 2;
    /** The version before the handshake existed: a worker that does not start with HELLO speaks it. */
    static final int PRE_HANDSHAKE = 1;
    /**
     * The first herd-sdk release that speaks {@link #OLDEST}: what an app refused for being too
     * old must be rebuilt with. Raise it together with OLDEST.
     */
    public static final String FIRST_SDK_SPEAKING_OLDEST = "0.1.0";
    /** The herd version of this code (herd-sdk's, and the master's, which ships the same jar). */
    public static final String HERD_VERSION = readVersion();
    /** The longest version text a HELLO may carry: printable ASCII only, as it ends up in logs. */
    static final int MAX_VERSION_TEXT = 64;

    private Protocol() {
    }

    /** This side's HELLO. */
    public static IpcMessage hello() {
        return IpcMessage.hello(VERSION, OLDEST, HERD_VERSION);
    }

    /**
     * The master's side of the handshake: the version to speak with a worker whose first message
     * is {@code first}.
     *
     * @throws IncompatiblePeerException when the worker speaks no version this master does (the
     *                                   message is the reason an operator reads)
     */
    public static int agreeWithWorker(IpcMessage first) throws IncompatiblePeerException {
        if (speaksOurs(first)) return Math.min(VERSION, first.highestVersion());
        String needed = "this herd needs " + range(OLDEST, VERSION);
        if (first.type() != IpcMessage.Type.HELLO) {
            throw new IncompatiblePeerException("refused: it sent " + first.type() + " before any HELLO, so its herd-sdk is from before the IPC handshake ("
                    + range(PRE_HANDSHAKE, PRE_HANDSHAKE) + "); " + needed + ": rebuild the app with herd-sdk ≥ " + FIRST_SDK_SPEAKING_OLDEST);
        }
        String theirs = "its herd-sdk " + first.text() + " speaks " + range(first.oldestVersion(), first.highestVersion());
        if (first.highestVersion() < OLDEST) {
            throw new IncompatiblePeerException("refused: " + theirs + "; " + needed + ": rebuild the app with herd-sdk ≥ " + FIRST_SDK_SPEAKING_OLDEST);
        }
        // What is left: it speaks only versions newer than this herd's.
        throw new IncompatiblePeerException("refused: " + theirs + "; this herd (" + HERD_VERSION + ") speaks " + range(OLDEST, VERSION)
                + ": run the app under a newer herd, or rebuild it with herd-sdk " + HERD_VERSION);
    }

    /**
     * The worker's side of the handshake: the version to speak with a master whose first message
     * is {@code first}.
     *
     * @throws IncompatiblePeerException when the master speaks no version this SDK does
     */
    public static int agreeWithMaster(IpcMessage first) throws IncompatiblePeerException {
        if (speaksOurs(first)) return Math.min(VERSION, first.highestVersion());
        String ours = "this herd-sdk " + HERD_VERSION + " speaks " + range(OLDEST, VERSION);
        if (first.type() != IpcMessage.Type.HELLO) {
            throw new IncompatiblePeerException("the herd master sent " + first.type() + " before its HELLO; " + ours
                    + ": run the app under the herd it was built for");
        }
        String theirs = "the herd master (herd " + first.text() + ") speaks " + range(first.oldestVersion(), first.highestVersion());
        if (first.highestVersion() < OLDEST) {
            throw new IncompatiblePeerException(theirs + "; " + ours + ": run the app under a newer herd, or rebuild it with the herd-sdk "
                    + first.text() + " that herd ships");
        }
        // What is left: it speaks only versions newer than this SDK's.
        throw new IncompatiblePeerException(theirs + "; " + ours + ": rebuild the app with herd-sdk ≥ " + first.text());
    }

    /**
     * True when {@code first} is a HELLO whose versions overlap ours. Checked before any reason
     * for a refusal is put into words: a worker shakes hands before it is ready, and its first
     * string concatenation spins a class.
     */
    private static boolean speaksOurs(IpcMessage first) {
        return first.type() == IpcMessage.Type.HELLO && first.highestVersion() >= OLDEST && first.oldestVersion() <= VERSION;
    }

    private static String range(int oldest, int newest) {
        return oldest == newest ? "IPC " + newest : "IPC " + oldest + " to " + newest;
    }

    /** True when every character is printable ASCII other than a space (0x21 to 0x7E), as a HELLO's version text must be. */
    static boolean isPrintableAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= 0x20 || c >= 0x7f) return false;
        }
        return true;
    }

    private static String readVersion() {
        try (InputStream in = Protocol.class.getResourceAsStream("herd-sdk.properties")) {
            if (in == null) return "unknown";
            Properties properties = new Properties();
            properties.load(in);
            String version = properties.getProperty("version", "unknown");
            // Unfiltered (a build outside Maven) or odd: HELLO carries printable ASCII only.
            boolean fits = !version.isEmpty() && version.length() <= MAX_VERSION_TEXT && isPrintableAscii(version);
            return fits && !version.contains("${") ? version : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }
}
