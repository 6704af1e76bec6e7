package io.tokengate.sidecar.log;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One JSON object per line on stdout, written by a background thread so an event loop never waits
 * on a slow pipe. Producers only append to a lock-free queue (no lock shared between event loops);
 * the writer drains it in batches. When too many lines are pending, lines are dropped and counted
 * rather than blocking requests; the count is reported in the next line written. Never give it a
 * token or key.
 */
public final class EventLog {
  private static final int CAPACITY = 16384;
  private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  private static final DateTimeFormatter SECONDS = DateTimeFormatter.ISO_LOCAL_DATE_TIME;

  /** The formatted current second, shared: timestamps cost an append, not a format. */
  private static volatile Second second = new Second(-1, "");

  private record Second(long epochSecond, String text) {}

  private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
  private final AtomicLong pending = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final OutputStream out;
  private final Thread writer;
  private volatile boolean closed;

  public EventLog() {
    this(new FileOutputStream(FileDescriptor.out));
  }

  public EventLog(OutputStream sink) {
    this.out = new BufferedOutputStream(sink, 64 * 1024);
    this.writer = new Thread(this::drain, "tokengate-log");
    writer.setDaemon(true);
    writer.start();
  }

  /** Queues a complete JSON object (without newline). */
  public void line(String json) {
    if (pending.incrementAndGet() > CAPACITY) {
      pending.decrementAndGet();
      dropped.incrementAndGet();
      return;
    }
    queue.offer(json);
  }

  /** A JSON builder pre-filled with {@code time}, {@code level} and {@code event}. */
  public static StringBuilder start(String level, String event) {
    // Sized for a decision line with subject, client, issuer and traceparent: no regrowth.
    StringBuilder sb = new StringBuilder(512);
    sb.append("{\"time\":\"");
    appendTime(sb, System.currentTimeMillis());
    sb.append("\",\"level\":\"").append(level);
    return sb.append("\",\"event\":\"").append(event).append('"');
  }

  /** RFC 3339 UTC with milliseconds: {@code 2026-12-01T10:00:00.123Z}. */
  static void appendTime(StringBuilder sb, long millis) {
    long sec = Math.floorDiv(millis, 1000);
    Second s = second;
    if (s.epochSecond() != sec) {
      String text = SECONDS.format(LocalDateTime.ofEpochSecond(sec, 0, ZoneOffset.UTC));
      s = new Second(sec, text.length() == 16 ? text + ":00" : text);
      second = s;
    }
    int ms = (int) Math.floorMod(millis, 1000);
    sb.append(s.text()).append('.');
    if (ms < 100) {
      sb.append('0');
    }
    if (ms < 10) {
      sb.append('0');
    }
    sb.append(ms).append('Z');
  }

  /** Appends {@code ,"name":"value"} (value quoted, null as JSON null). */
  public static StringBuilder field(StringBuilder sb, String name, String value) {
    sb.append(",\"").append(name).append("\":");
    return Json.quote(sb, value);
  }

  public static StringBuilder field(StringBuilder sb, String name, long value) {
    return sb.append(",\"").append(name).append("\":").append(value);
  }

  /** A one-off event line: {@code info("startup", "listening", "port", "15080")}. */
  public void event(String level, String event, String message, String... kv) {
    StringBuilder sb = start(level, event);
    field(sb, "message", message);
    for (int i = 0; i + 1 < kv.length; i += 2) {
      field(sb, kv[i], kv[i + 1]);
    }
    line(sb.append('}').toString());
  }

  public void info(String event, String message, String... kv) {
    event("info", event, message, kv);
  }

  public void warn(String event, String message, String... kv) {
    event("warn", event, message, kv);
  }

  public void error(String event, String message, String... kv) {
    event("error", event, message, kv);
  }

  /** Waits until everything queued so far is written (bounded), then flushes. */
  public void flush(long timeoutMillis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (pending.get() > 0 && System.nanoTime() < deadline) {
      LockSupport.unpark(writer);
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    synchronized (out) {
      try {
        out.flush();
      } catch (IOException ignored) {
        // stdout is gone; nothing left to tell.
      }
    }
  }

  public void close() {
    flush(2000);
    closed = true;
    writer.interrupt();
  }

  private void drain() {
    while (!closed) {
      String line = queue.poll();
      if (line == null) {
        LockSupport.parkNanos(IDLE_PARK_NANOS);
        continue;
      }
      synchronized (out) {
        int n = 0;
        try {
          long lost = dropped.getAndSet(0);
          if (lost > 0) {
            StringBuilder sb = start("warn", "log_dropped");
            field(sb, "message", "log lines dropped: stdout could not keep up");
            field(sb, "dropped", lost);
            write(sb.append('}').toString());
          }
          while (line != null) {
            write(line);
            n++;
            line = n < 4096 ? queue.poll() : null;
          }
          if (queue.isEmpty()) {
            out.flush();
          }
        } catch (IOException e) {
          // stdout is closed or broken: the lines are lost, the requests are not.
        } finally {
          pending.addAndGet(-n - (line != null ? 1 : 0));
        }
      }
    }
  }

  private void write(String s) throws IOException {
    out.write(s.getBytes(StandardCharsets.UTF_8));
    out.write('\n');
  }
}
