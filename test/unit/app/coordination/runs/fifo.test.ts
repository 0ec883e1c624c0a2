import { describe, expect, it } from "vitest";
import { FifoSemaphore } from "../../../../../src/app/coordination/runs/fifo.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("FifoSemaphore", () => {
  it("admits at most the bound, in arrival order, and reports queue positions", async () => {
    const sem = new FifoSemaphore(2);
    const order: number[] = [];
    const positions: number[] = [];
    const releases: (() => void)[] = [];
    const all = [0, 1, 2, 3, 4].map((i) => sem.acquire((p) => positions.push(p)).then((release) => (order.push(i), releases.push(release))));
    await tick();
    expect(order).toEqual([0, 1]);
    expect(positions).toEqual([1, 2, 3]);
    expect(sem.running).toBe(2);
    releases[0]!();
    releases[0]!(); // releasing twice frees one slot only
    await tick();
    expect(order).toEqual([0, 1, 2]);
    expect(sem.running).toBe(2);
    releases[1]!();
    releases[2]!();
    await tick();
    releases[3]!();
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it("a newcomer cannot jump a waiting queue", async () => {
    const sem = new FifoSemaphore(1);
    const r1 = await sem.acquire();
    const order: string[] = [];
    const waiting = sem.acquire().then((r) => (order.push("waiter"), r));
    r1();
    const late = sem.acquire().then((r) => (order.push("late"), r));
    (await waiting)();
    (await late)();
    expect(order).toEqual(["waiter", "late"]);
  });

  it("refuses a bound below 1", () => {
    expect(() => new FifoSemaphore(0)).toThrow(/≥ 1/);
  });
});
