import os from "node:os";
import { describe, expect, it } from "vitest";
import { describeHolder, makeOwner, parseOwner } from "../../../src/store/lease-owner.js";

const now = new Date("2026-12-02T10:00:37.000Z");
const since = new Date("2026-12-02T10:00:00.000Z");
const at = (s: number) => new Date(now.getTime() + s * 1000);

describe("lease owners", () => {
  it("makes owners that name this machine, pid and operation, unique per call", () => {
    const a = makeOwner("provision");
    expect(a).toMatch(new RegExp(`^${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${process.pid}:provision:[0-9a-f]{8}$`));
    expect(makeOwner("provision")).not.toBe(a);
    expect(parseOwner(a)).toEqual({ machine: os.hostname(), pid: process.pid, op: "provision" });
    expect(parseOwner(makeOwner("a:b"))).toMatchObject({ op: "a-b" });
  });

  it("parses the current and the older format, and refuses anything else", () => {
    expect(parseOwner("ci-1:4242:provision:ab12cd34")).toEqual({ machine: "ci-1", pid: 4242, op: "provision" });
    expect(parseOwner("ci-1:4242:ab12cd")).toEqual({ machine: "ci-1", pid: 4242, op: null });
    for (const raw of ["daemon-7", "t", "a:b", "ci-1:abc:provision:ab12", "ci-1:4242:provision:", "ci-1:0:ab", ":4242:ab", ""]) expect(parseOwner(raw), raw).toBeNull();
  });

  it("describes a holder with its operation, host, pid, start and time left", () => {
    const row = { leaseOwner: "ci-1:4242:provision:ab12cd34", leaseSince: since, leaseUntil: at(23) };
    expect(describeHolder(row, now)).toBe("provision on host ci-1, pid 4242, since 2026-12-02T10:00:00.000Z; it lapses in 23 s");
    expect(describeHolder({ ...row, leaseUntil: at(22.2) }, now)).toMatch(/lapses in 23 s$/);
    expect(describeHolder({ ...row, leaseUntil: at(-5) }, now)).toMatch(/; it lapsed 5 s ago$/);
    expect(describeHolder({ ...row, leaseUntil: at(600) }, now)).toMatch(/lapses in 10 min$/);
    expect(describeHolder({ ...row, leaseUntil: at(3 * 3600) }, now)).toMatch(/lapses in 3 h$/);
  });

  it("falls back for old owners, unknown formats and missing columns", () => {
    expect(describeHolder({ leaseOwner: "ci-1:4242:ab12cd", leaseSince: null, leaseUntil: at(23) }, now)).toBe("a process on host ci-1, pid 4242; it lapses in 23 s");
    expect(describeHolder({ leaseOwner: "daemon-7", leaseSince: since, leaseUntil: null }, now)).toBe("daemon-7, since 2026-12-02T10:00:00.000Z");
    expect(describeHolder({ leaseOwner: "daemon-7", leaseUntil: at(1) }, now)).toBe("daemon-7; it lapses in 1 s");
    expect(describeHolder({ leaseOwner: null, leaseSince: null, leaseUntil: null }, now)).toBe("another process");
  });
});
