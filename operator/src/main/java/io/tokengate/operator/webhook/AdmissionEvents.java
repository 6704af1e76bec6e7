package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.tokengate.operator.injection.PolicyNotice;
import io.tokengate.operator.status.ResourceEvents;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Writes the webhook's {@link PolicyNotice}s as Events on the ApiPolicy, aggregated the way
 * Kubernetes' own event recorder does it: the first notice of a kind (policy, reason, pod
 * controller, message) creates an Event at once; the same notice again only raises that Event's
 * {@code count}, written at most once per {@code interval}. A rollout of a thousand pods that all
 * get the same warning is one Event with count 1000, not a thousand Events. A notice not seen for
 * {@code window} starts a new Event.
 *
 * <p>Never blocks the caller: the API calls run on one background thread, and a failure to record
 * is logged, never propagated. Each webhook replica aggregates on its own, so with N replicas one
 * kind of notice makes at most N Events.
 */
public final class AdmissionEvents implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AdmissionEvents.class);
  static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
  static final Duration WINDOW = Duration.ofMinutes(10);
  static final int MAX_KINDS = 4096;

  private record Key(String policyUid, String reason, String source, String message) {}

  private static final class Aggregate {
    final PolicyNotice first;
    Instant lastSeen;
    int count;
    int written;
    String eventName;
    Instant lastWrite = Instant.MIN;
    boolean pending;

    Aggregate(PolicyNotice first, Instant now) {
      this.first = first;
      this.lastSeen = now;
    }
  }

  private final KubernetesClient client;
  private final ResourceEvents events;
  private final Clock clock;
  private final Duration interval;
  private final Map<Key, Aggregate> aggregates = new HashMap<>();
  private Instant lastSweep = Instant.MIN;
  private final ScheduledExecutorService writer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "tokengate-admission-events");
            t.setDaemon(true);
            return t;
          });

  public AdmissionEvents(KubernetesClient client, Clock clock, Duration interval) {
    this.client = client;
    this.events = new ResourceEvents(client, clock);
    this.clock = clock;
    this.interval = interval;
  }

  /** Takes the notices of one admission decision; returns at once. */
  public void report(List<PolicyNotice> notices) {
    for (PolicyNotice notice : notices) {
      report(notice);
    }
  }

  private void report(PolicyNotice notice) {
    Key key =
        new Key(
            notice.policy().getMetadata().getUid(),
            notice.reason(),
            notice.source(),
            notice.message());
    Instant now = clock.instant();
    long delayMillis;
    synchronized (aggregates) {
      if (lastSweep.plus(WINDOW).isBefore(now)) {
        forgetIdle(now);
        lastSweep = now;
      }
      Aggregate a = aggregates.get(key);
      if (a == null || a.lastSeen.plus(WINDOW).isBefore(now)) {
        if (a == null && aggregates.size() >= MAX_KINDS) {
          forgetIdle(now);
          if (aggregates.size() >= MAX_KINDS) {
            LOG.debugf("too many kinds of admission notices: not recording %s", notice.reason());
            return;
          }
        }
        a = new Aggregate(notice, now);
        aggregates.put(key, a);
      }
      a.count++;
      a.lastSeen = now;
      if (a.pending) {
        return;
      }
      a.pending = true;
      // The first write at once; every later one (a count, or a create that failed) at most once
      // per interval.
      delayMillis =
          a.lastWrite.equals(Instant.MIN)
              ? 0
              : Math.max(0, Duration.between(now, a.lastWrite.plus(interval)).toMillis());
    }
    try {
      writer.schedule(() -> write(key), delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopped) {
      // shutting down
    }
  }

  private void write(Key key) {
    Aggregate a;
    int count;
    String name;
    synchronized (aggregates) {
      a = aggregates.get(key);
      if (a == null) {
        return;
      }
      a.pending = false;
      count = a.count;
      name = a.eventName;
      a.lastWrite = clock.instant();
    }
    PolicyNotice n = a.first;
    String message = a.first.source() + ": " + n.message();
    if (name == null) {
      name = events.record(n.policy(), n.warning(), n.reason(), message);
      if (name != null) {
        synchronized (aggregates) {
          a.eventName = name;
          a.written = 1;
        }
        // Notices that arrived before or while it was created: their count, an interval later.
        writeCountLater(key);
      }
      return;
    }
    String namespace = n.policy().getMetadata().getNamespace();
    String now = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      client
          .v1()
          .events()
          .inNamespace(namespace)
          .withName(name)
          .patch(
              PatchContext.of(PatchType.JSON_MERGE),
              "{\"count\":" + count + ",\"lastTimestamp\":\"" + now + "\"}");
      synchronized (aggregates) {
        a.written = count;
      }
    } catch (KubernetesClientException e) {
      LOG.warnf(
          "cannot update event %s on ApiPolicy %s/%s: %s",
          n.reason(), namespace, n.policy().getMetadata().getName(), e.getMessage());
    }
  }

  private void writeCountLater(Key key) {
    synchronized (aggregates) {
      Aggregate a = aggregates.get(key);
      if (a == null || a.pending || a.written >= a.count) {
        return;
      }
      a.pending = true;
    }
    writer.schedule(() -> write(key), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void forgetIdle(Instant now) {
    aggregates
        .entrySet()
        .removeIf(e -> !e.getValue().pending && e.getValue().lastSeen.plus(WINDOW).isBefore(now));
  }

  @Override
  public void close() {
    writer.shutdownNow();
  }
}
