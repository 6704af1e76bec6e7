package io.tokengate.operator.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A TCP proxy on loopback that delivers every byte the server sends {@code lag} late (in order;
 * what the client sends is forwarded at once). Put between a client and the API server, it makes
 * that client's watches lag, as a busy replica's do, without touching the code under test. TLS
 * passes through untouched.
 */
public final class LaggingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final String targetHost;
  private final int targetPort;
  private final long lagNanos;
  private volatile boolean closed;

  public LaggingProxy(String targetHost, int targetPort, Duration lag) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.lagNanos = lag.toNanos();
    Thread acceptor = new Thread(this::accept, "lagging-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(targetHost, targetPort);
        client.setTcpNoDelay(true);
        upstream.setTcpNoDelay(true);
        daemon(() -> pump(client, upstream), "lagging-proxy-up");
        BlockingQueue<Chunk> delayed = new LinkedBlockingQueue<>();
        daemon(() -> readInto(upstream, client, delayed), "lagging-proxy-down-read");
        daemon(() -> writeLate(delayed, client, upstream), "lagging-proxy-down-write");
      } catch (IOException e) {
        if (!closed) {
          System.err.println("[LaggingProxy] accept failed: " + e);
        }
      }
    }
  }

  private record Chunk(long due, byte[] bytes) {}

  private static void pump(Socket from, Socket to) {
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException e) {
      // the other side went away
    } finally {
      closeQuietly(from, to);
    }
  }

  private void readInto(Socket from, Socket to, BlockingQueue<Chunk> queue) {
    byte[] buffer = new byte[16384];
    try (InputStream in = from.getInputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        queue.add(new Chunk(System.nanoTime() + lagNanos, Arrays.copyOf(buffer, n)));
      }
    } catch (IOException e) {
      // the other side went away
    } finally {
      queue.add(new Chunk(System.nanoTime() + lagNanos, null));
    }
  }

  private static void writeLate(BlockingQueue<Chunk> queue, Socket to, Socket from) {
    try (OutputStream out = to.getOutputStream()) {
      while (true) {
        Chunk chunk = queue.take();
        long wait = chunk.due() - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        if (chunk.bytes() == null) {
          return;
        }
        out.write(chunk.bytes());
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // the client went away
    } finally {
      closeQuietly(to, from);
    }
  }

  private static void daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket... sockets) {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
  }
}
