package io.tokengate.sidecar.log;

import java.text.MessageFormat;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Routes java.util.logging (where Vert.x, Netty and the validator's System.Logger end up) into the
 * {@link EventLog}, so stdout carries JSON lines only. INFO and above; the exception's type and
 * message are kept, stack traces are not (they would break the one-object-per-line format, and they
 * are never needed to act on an operational log line).
 */
public final class JsonLogHandler extends Handler {
  private final EventLog log;

  private JsonLogHandler(EventLog log) {
    this.log = log;
  }

  /** Replaces the root handlers with one writing to {@code log}. */
  public static void install(EventLog log) {
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    root.setLevel(Level.INFO);
    JsonLogHandler h = new JsonLogHandler(log);
    h.setLevel(Level.INFO);
    root.addHandler(h);
  }

  @Override
  public void publish(LogRecord r) {
    if (!isLoggable(r)) {
      return;
    }
    String level =
        r.getLevel().intValue() >= Level.SEVERE.intValue()
            ? "error"
            : r.getLevel().intValue() >= Level.WARNING.intValue() ? "warn" : "info";
    StringBuilder sb = EventLog.start(level, "log");
    EventLog.field(sb, "logger", r.getLoggerName());
    EventLog.field(sb, "message", format(r));
    Throwable t = r.getThrown();
    if (t != null) {
      EventLog.field(sb, "error", t.getClass().getName() + ": " + t.getMessage());
    }
    log.line(sb.append('}').toString());
  }

  private static String format(LogRecord r) {
    String msg = r.getMessage();
    Object[] params = r.getParameters();
    if (msg == null || params == null || params.length == 0) {
      return msg;
    }
    try {
      return MessageFormat.format(msg, params);
    } catch (IllegalArgumentException e) {
      return msg;
    }
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}
}
