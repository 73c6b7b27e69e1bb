# SPDX-License-Identifier: MIT
# A threaded Python program for the malloc shim's test (run_programs.sh):
# worker threads build and drop many objects, pass them to each other
# through queues (so blocks are freed by threads other than the ones that
# allocated them), and a child made with os.fork while the threads run
# allocates too. It prints checksums that do not depend on the allocator,
# and whether librecycle-malloc.so is mapped in the process.
import hashlib
import os
import queue
import sys
import threading

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 4
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20000


def worker(idx, inbox, outbox, results):
    h = hashlib.sha256()
    for i in range(ROUNDS):
        d = {f"k{j}": [idx, i, j, "x" * (j % 37)] for j in range(i % 23)}
        s = "".join(str(v) for v in d.values())
        outbox.put((i, s, bytearray(s.encode()) * (1 + i % 5)))
        try:
            while True:
                j, t, b = inbox.get_nowait()
                h.update(t.encode())
                h.update(bytes(b[: 64]))
        except queue.Empty:
            pass
    results[idx] = h


def main():
    qs = [queue.Queue() for _ in range(THREADS)]
    results = [None] * THREADS
    ts = [threading.Thread(target=worker, args=(i, qs[i], qs[(i + 1) % THREADS], results))
          for i in range(THREADS)]
    for t in ts:
        t.start()
    pid = os.fork()
    if pid == 0:  # the child allocates while the parent's threads run
        total = sum(len(str(list(range(i % 100)))) for i in range(20000))
        os._exit(0 if total > 0 else 1)
    _, status = os.waitpid(pid, 0)
    for t in ts:
        t.join()
    # what is left in the queues, drained by the main thread
    leftover = hashlib.sha256()
    for q in qs:
        while not q.empty():
            j, s, b = q.get()
            leftover.update(s.encode())
    # the per-thread digests depend on timing; their inputs do not: check
    # the work itself with a deterministic digest of the same objects
    check = hashlib.sha256()
    for idx in range(THREADS):
        for i in range(0, ROUNDS, 97):
            d = {f"k{j}": [idx, i, j, "x" * (j % 37)] for j in range(i % 23)}
            check.update("".join(str(v) for v in d.values()).encode())
    with open("/proc/self/maps") as f:
        loaded = "librecycle-malloc" in f.read()
    print(f"threads={THREADS} rounds={ROUNDS} fork_child_status={os.waitstatus_to_exitcode(status)}")
    print(f"digest={check.hexdigest()}")
    print(f"workers_done={sum(r is not None for r in results)}")
    print(f"shim_loaded={loaded}")


main()
