/**
 * herd's worker SDK: {@link io.herd.HerdWorker}, where a server gets its connections from.
 *
 * <p>Apps use {@code io.herd} only. {@code io.herd.ipc} is the wire between a worker and the
 * master; the master's runtime shares it, and nothing else should.
 */
@SuppressWarnings("module") // io.herd.runtime is the master's jar (an automatic module), never built with this one
module io.herd.sdk {
    exports io.herd;
    exports io.herd.ipc to io.herd.runtime;
}
