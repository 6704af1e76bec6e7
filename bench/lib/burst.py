"""A burst of concurrent connections against the sidecar: N connections that each send a
complete request and keep the connection open, plus M slow heads (a request line and headers
trickled without the final blank line). Reports how each connection ended: the status of its
answer (and how many 503s carried Retry-After), refused or failed connects (TCP backpressure),
resets and timeouts. Loopback only."""
import asyncio
import json
import sys


async def full(port, stats, hold):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        stats["connect_failed"] += 1
        return
    try:
        w.write(b"GET /burst HTTP/1.1\r\nHost: x\r\n\r\n")
        await w.drain()
        line = await asyncio.wait_for(r.readline(), 60)
        code = line.split(b" ")[1].decode() if line.count(b" ") >= 1 else "none"
        stats["status_" + code] = stats.get("status_" + code, 0) + 1
        if code == "503":
            # Shedding must tell the client when to come back.
            while True:
                header = await asyncio.wait_for(r.readline(), 60)
                if header in (b"\r\n", b"\n", b""):
                    break
                if header.lower().startswith(b"retry-after:"):
                    stats["status_503_retry_after"] += 1
        await asyncio.sleep(hold)
    except (OSError, asyncio.TimeoutError, IndexError):
        stats["reset_or_timeout"] += 1
    finally:
        w.close()


async def slow(port, stats, pad):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        stats["slow_connect_failed"] += 1
        return
    try:
        w.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
        for i in range(pad // 1024):
            w.write(b"X-Pad-%d: " % i + b"a" * 1000 + b"\r\n")
            await w.drain()
            await asyncio.sleep(0.05)
        line = await asyncio.wait_for(r.readline(), 60)
        stats["slow_answered"] += 1 if line else 0
    except (OSError, asyncio.TimeoutError):
        stats["slow_closed"] += 1
    finally:
        w.close()


async def main(port, n, m, pad, hold):
    stats = {"connect_failed": 0, "reset_or_timeout": 0, "slow_connect_failed": 0,
             "slow_answered": 0, "slow_closed": 0, "status_503_retry_after": 0}
    tasks = [asyncio.create_task(slow(port, stats, pad)) for _ in range(m)]
    tasks += [asyncio.create_task(full(port, stats, hold)) for _ in range(n)]
    await asyncio.gather(*tasks)
    print(json.dumps(stats, sort_keys=True))


if __name__ == "__main__":
    port, n, m, pad, hold = (int(a) for a in sys.argv[1:6])
    asyncio.run(main(port, n, m, pad, hold))
