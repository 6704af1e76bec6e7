package io.tokengate.sidecar.log;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One JSON object per line on stdout, written by a background thread so an event loop never waits
 * on a slow pipe. When the queue is full, lines are dropped and counted rather than blocking
 * requests; the count is reported in the next line written. Never give it a token or key.
 */
public final class EventLog {
  private static final int CAPACITY = 16384;

  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(CAPACITY);
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
    if (!queue.offer(json)) {
      dropped.incrementAndGet();
    }
  }

  /** A JSON builder pre-filled with {@code time}, {@code level} and {@code event}. */
  public static StringBuilder start(String level, String event) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("{\"time\":\"").append(Instant.now()).append("\",\"level\":\"").append(level);
    return sb.append("\",\"event\":\"").append(event).append('"');
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
    while (!queue.isEmpty() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
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
    List<String> batch = new ArrayList<>(256);
    while (!closed) {
      try {
        String first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, 1023);
        synchronized (out) {
          long lost = dropped.getAndSet(0);
          if (lost > 0) {
            StringBuilder sb = start("warn", "log_dropped");
            field(sb, "message", "log lines dropped: stdout could not keep up");
            field(sb, "dropped", lost);
            write(sb.append('}').toString());
          }
          for (String s : batch) {
            write(s);
          }
          if (queue.isEmpty()) {
            out.flush();
          }
        }
        batch.clear();
      } catch (InterruptedException e) {
        if (closed) {
          return;
        }
      } catch (IOException e) {
        batch.clear();
      }
    }
  }

  private void write(String s) throws IOException {
    out.write(s.getBytes(StandardCharsets.UTF_8));
    out.write('\n');
  }
}
