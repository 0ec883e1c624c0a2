import { describe, expect, it } from "vitest";
import { wrapCommand } from "../../../src/remote/ssh-exec.js";

describe("wrapCommand", () => {
  it("leaves a command without timeout or abort signal alone", () => {
    expect(wrapCommand("docker ps")).toBe("docker ps");
  });

  it("runs under timeout(1) with a kill-after, so the whole process group dies", () => {
    expect(wrapCommand("sleep 600", 30_000)).toBe("exec timeout -k 2 30s sh -c 'sleep 600'");
  });

  it("keeps sub-second precision", () => {
    expect(wrapCommand("true", 1500)).toBe("exec timeout -k 2 1.5s sh -c 'true'");
    expect(wrapCommand("true", 0)).toBe("exec timeout -k 2 0.001s sh -c 'true'");
  });

  it("quotes single quotes for sh", () => {
    expect(wrapCommand("echo 'a b' \"$HOME\"", 1000)).toBe(`exec timeout -k 2 1s sh -c 'echo '\\''a b'\\'' "$HOME"'`);
  });

  it("wraps an abortable command with no deadline so TERM reaches its group", () => {
    expect(wrapCommand("tail -f log", undefined, true)).toBe("exec timeout -k 2 0 sh -c 'tail -f log'");
  });
});

describe("wrapCommand with the hangup watcher", () => {
  it("keeps the channel's stdin for a watcher and gives the command /dev/null", () => {
    expect(wrapCommand("sleep 600", 30_000, false, { hangup: true })).toBe(
      "exec 3<&0; { trap '' TERM; while read -r _; do :; done; kill -0 $$ 2>/dev/null || exit 0; kill -TERM -$$; sleep 2; kill -KILL -$$; }" +
        " <&3 >/dev/null 2>&1 & exec timeout -k 2 30s sh -c 'sleep 600' </dev/null 3<&-",
    );
  });

  it("does not apply to a command without timeout or abort signal", () => {
    expect(wrapCommand("docker ps", undefined, false, { hangup: true })).toBe("docker ps");
  });
});
