import { describe, expect, it } from "vitest";
import { formatAge } from "../../../src/cli/instances-view.js";

describe("formatAge", () => {
  it.each([[0, "0s"], [59, "59s"], [90, "1m30s"], [3600, "1h"], [200_000, "2d7h"], [null, "-"]])("%s s -> %s", (sec, text) => {
    expect(formatAge(sec)).toBe(text);
  });
});
