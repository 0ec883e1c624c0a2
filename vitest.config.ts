import os from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

// validate-config's shellcheck cache: tests never write into the user's ~/.cache.
const cacheDir = path.join(os.tmpdir(), `clawfleet-test-cache-${process.pid}`);

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 20_000, env: { CLAWFLEET_CACHE_DIR: cacheDir } } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ["test/integration/global-setup.ts"],
          fileParallelism: false,
          env: { CLAWFLEET_CACHE_DIR: cacheDir },
        },
      },
    ],
  },
});
