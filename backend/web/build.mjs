// Bundles the web app with esbuild: src/main.js (ethers, chart.js from node_modules) and
// src/style.css into dist/, and copies index.html. Run by `make setup`; nothing in dist/ is
// committed, and nothing is loaded from the internet at run time.
//   node backend/web/build.mjs [--watch]
import { build, context } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });
copyFileSync(join(here, "src", "index.html"), join(dist, "index.html"));

const options = {
  entryPoints: { app: join(here, "src", "main.js"), style: join(here, "src", "style.css") },
  outdir: dist,
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
};

if (process.argv.includes("--watch")) {
  const ctx = await context(options);
  await ctx.watch();
  console.log("watching backend/web/src");
} else {
  await build(options);
}
