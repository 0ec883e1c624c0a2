// Bundles the validate-config command (its use case, the renderer, zod, yaml, handlebars and the
// compose checks) into one file, dist/validate-config.bundle.js. Release CI runs this command on
// every template change: one file parses and links far faster than the ~300 modules it replaces.
// It sits at dist/ depth so src/paths.ts finds the package root from it as from dist/*.js.
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
await build({
  entryPoints: [path.join(root, "dist/app/validate/validate-config.js")],
  outfile: path.join(root, "dist/validate-config.bundle.js"),
  bundle: true,
  minify: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // CommonJS dependencies (handlebars) call require(); ESM output has none of its own.
  banner: { js: 'import { createRequire as __cfCreateRequire } from "node:module"; const require = __cfCreateRequire(import.meta.url);' },
  logLevel: "warning",
});
