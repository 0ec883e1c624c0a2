import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { checkCustomerId, CUSTOMER_ID_RE, dataVolumeName, projectName } from "../../../src/domain/ids.js";
import { checkImageRef, imageRefProblem } from "../../../src/domain/images.js";
import { allHostPorts, lowestFreeSlot, maxSlot, portsForSlot } from "../../../src/domain/ports.js";
import { goDuration, parseDuration, parseSize, toSeconds } from "../../../src/domain/sizes.js";

describe("ports", () => {
  it("follows the contract: base + slot*step, +1, +2, CDP +9 … +108", () => {
    expect(portsForSlot(0, 18800, 120)).toEqual({ gateway: 18800, bridge: 18801, browser: 18802, cdpStart: 18809, cdpEnd: 18908 });
    expect(portsForSlot(3, 18800, 120)).toEqual({ gateway: 19160, bridge: 19161, browser: 19162, cdpStart: 19169, cdpEnd: 19268 });
    expect(allHostPorts(portsForSlot(0, 18800, 120))).toHaveLength(103);
  });
  it("rejects slots past 65535 and negative slots", () => {
    const last = maxSlot(18800, 120);
    expect(portsForSlot(last, 18800, 120).cdpEnd).toBeLessThanOrEqual(65535);
    expect(() => portsForSlot(last + 1, 18800, 120)).toThrow(RangeError);
    expect(() => portsForSlot(-1, 18800, 120)).toThrow(RangeError);
  });
  it("reuses the lowest freed slot", () => {
    expect(lowestFreeSlot([])).toBe(0);
    expect(lowestFreeSlot([0, 1, 2])).toBe(3);
    expect(lowestFreeSlot([0, 2, 3])).toBe(1);
    expect(lowestFreeSlot(new Set([1, 2]))).toBe(0);
  });
});

describe("customer ids", () => {
  it.each(["ab", "acme", "a1-b2", "x".repeat(32)])("accepts %s", (id) => expect(checkCustomerId(id)).toBe(id));
  it.each(["a", "1abc", "Acme", "a_b", "a b", "a;rm -rf /", "a/../b", "$(id)", "a\nb", "x".repeat(33), ""])("rejects %j", (id) => {
    expect(CUSTOMER_ID_RE.test(id)).toBe(false);
    expect(() => checkCustomerId(id)).toThrow(InputError);
    expect(() => checkCustomerId(id)).toThrow(/^--customer-id: /);
  });
  it("keeps hostile input inert in the message", () => {
    expect(() => checkCustomerId("a\n$(reboot)")).toThrow('--customer-id: "a\\n$(reboot)" is not a valid customer id');
  });
  it("names the project and volume", () => {
    expect(projectName("acme")).toBe("cf-acme");
    expect(dataVolumeName("acme")).toBe("cf-acme-data");
  });
});

describe("image refs", () => {
  it.each(["ghcr.io/openclaw/openclaw-gateway:2026.11.1", "localhost:5000/gw:1", "busybox:1.36", `gw@sha256:${"0".repeat(64)}`, `gw:1@sha256:${"f".repeat(64)}`])(
    "accepts %s", (ref) => expect(imageRefProblem(ref)).toBeNull(),
  );
  it.each([
    ["gw:latest", /uses :latest/], ["gw:LATEST", /uses :latest/], ["gw", /has no tag/], ["localhost:5000/gw", /has no tag/],
    ["GW:1", /not a valid image reference/], ["gw:1 ; rm", /not a valid image reference/], ["", /not a valid image reference/],
  ])("rejects %s", (ref, msg) => expect(imageRefProblem(ref)).toMatch(msg));
  it("checkImageRef throws InputError naming --image", () => {
    expect(() => checkImageRef("gw:latest")).toThrow(/^--image: image "gw:latest" uses :latest/);
    expect(checkImageRef("gw:1")).toBe("gw:1");
  });
});

describe("sizes and durations", () => {
  it("parses Docker sizes", () => {
    expect(parseSize("512m")).toBe(536_870_912);
    expect(parseSize("2g")).toBe(2 * 1024 ** 3);
    expect(parseSize("64k")).toBe(65_536);
    for (const bad of ["512", "512M", "0m", "1.5g", "m", " 1g"]) expect(parseSize(bad)).toBeNull();
  });
  it("parses durations", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("250ms")).toBe(250);
    for (const bad of ["90", "1w", "0s", "-1s", "1.5s"]) expect(parseDuration(bad)).toBeNull();
  });
  it("formats Go durations and seconds", () => {
    expect(goDuration(5000)).toBe("5s");
    expect(goDuration(1500)).toBe("1500ms");
    expect(() => goDuration(0)).toThrow(RangeError);
    expect(toSeconds(1500)).toBe(2);
  });
});
