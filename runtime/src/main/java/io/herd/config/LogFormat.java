package io.herd.config;

/**
 * How herd writes its log and its workers' output ({@code herd.log.format}); written text or json.
 * conf/log4j2.xml picks its layouts by it, through the system property of the same name that the
 * service sets from the configuration before log4j starts.
 */
public enum LogFormat {
    /** Lines for people: a timestamp, then the level, thread and logger for herd's own. */
    TEXT,
    /** One JSON object a line, for a log shipper: conf/herd-log.json and conf/herd-worker-log.json say which fields. */
    JSON
}
