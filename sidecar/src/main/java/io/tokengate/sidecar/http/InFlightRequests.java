package io.tokengate.sidecar.http;

/**
 * Requests forwarded on one event loop and waiting for the application's response head, bounded in
 * number: an intrusive doubly-linked list, only touched on its event loop. A request leaves the
 * moment it is answered, so the list holds exactly the requests in flight upstream (bounded by
 * concurrency, not by rate), and a slow request never keeps finished ones alive. Deadlines are
 * swept from it every {@link GateHandler#SWEEP_MILLIS} instead of arming and cancelling a timer per
 * request, which costs more than the sweep.
 */
final class InFlightRequests {
  /** A member of the list: one forwarded request. */
  abstract static class Entry {
    private InFlightRequests list;
    private Entry prev;
    private Entry next;
    private long deadline;

    /** Its deadline passed: it has left the list, and is answered now. */
    abstract void expired();

    /** Leaves the list (no-op when not in it). */
    final void leave() {
      if (list != null) {
        list.unlink(this);
      }
    }
  }

  private final int limit;
  private Entry head;
  private Entry tail;

  // Written on the event loop, read by the metrics gauge: a slightly stale value is fine there.
  private volatile int count;

  /**
   * @param limit the requests that may wait at once
   */
  InFlightRequests(int limit) {
    this.limit = limit;
  }

  /** Requests waiting now. */
  int count() {
    return count;
  }

  /** No request may join until one leaves. */
  boolean full() {
    return count >= limit;
  }

  /** {@code e} waits until it leaves or {@code deadline} (a {@link System#nanoTime()}) passes. */
  void add(Entry e, long deadline) {
    e.deadline = deadline;
    e.prev = tail;
    e.next = null;
    if (tail != null) {
      tail.next = e;
    } else {
      head = e;
    }
    tail = e;
    e.list = this;
    count++;
  }

  /** Removes and expires every entry whose deadline is at or before {@code now}. */
  void expire(long now) {
    Entry e = head;
    while (e != null) {
      Entry next = e.next;
      if (now - e.deadline >= 0) {
        unlink(e);
        e.expired();
      }
      e = next;
    }
  }

  private void unlink(Entry e) {
    if (e.prev != null) {
      e.prev.next = e.next;
    } else {
      head = e.next;
    }
    if (e.next != null) {
      e.next.prev = e.prev;
    } else {
      tail = e.prev;
    }
    e.prev = null;
    e.next = null;
    e.list = null;
    count--;
  }
}
