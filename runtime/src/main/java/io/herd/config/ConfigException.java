package io.herd.config;

/**
 * The configuration cannot be used. The message names the key (or port) and the file, one
 * problem a line, so an operator can fix them all in one go.
 */
public class ConfigException extends Exception {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
