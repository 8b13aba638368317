// Builds the portal's static assets from the locked npm packages (run by `make portal-assets`).
// Output goes to portal/static/dist (ignored by git): one CSS file with the province's branding, the
// GOV.UK, MOJ and htmx scripts, and the Be Vietnam Pro fonts. Nothing is ever loaded from a CDN.
import { compile } from "sass";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const nm = join(here, "node_modules");
const out = join(here, "portal", "static", "dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "fonts"), { recursive: true });

// Be Vietnam Pro, regular and bold, in the subsets Vietnamese text needs.
const SUBSETS = ["vietnamese", "latin-ext", "latin"];
const fontDir = join(nm, "@fontsource", "be-vietnam-pro");
let fontFaces = "";
for (const weight of ["400", "700"]) {
  const css = readFileSync(join(fontDir, `${weight}.css`), "utf8");
  for (const block of css.split("/* ").slice(1)) {
    const name = block.slice(0, block.indexOf(" */"));
    if (!SUBSETS.some((s) => name === `be-vietnam-pro-${s}-${weight}-normal`)) continue;
    fontFaces += "/* " + block.replaceAll("url(./files/", "url(/static/dist/fonts/");
  }
}
for (const file of readdirSync(join(fontDir, "files"))) {
  if (SUBSETS.some((s) => /-(400|700)-normal\.woff2?$/.test(file) && file.includes(`-${s}-`))) {
    cpSync(join(fontDir, "files", file), join(out, "fonts", file));
  }
}

const result = compile(join(here, "assets", "portal.scss"), {
  loadPaths: [here],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
  logger: { warn() {} }, // MOJ Frontend 11 still calls mixins GOV.UK Frontend 6 marks deprecated
});
writeFileSync(join(out, "portal.css"), fontFaces.replace(/\s+/g, " ") + result.css);

// MOJ Frontend's icons (the crest image the CSS also names belongs to GOV.UK's own header, never used here).
cpSync(join(nm, "@ministryofjustice", "frontend", "moj", "assets", "images"), join(out, "images"), { recursive: true });
cpSync(join(nm, "govuk-frontend", "dist", "govuk", "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(nm, "@ministryofjustice", "frontend", "moj", "moj-frontend.min.js"), join(out, "moj-frontend.min.js"));
cpSync(join(nm, "htmx.org", "dist", "htmx.min.js"), join(out, "htmx.min.js"));
console.log(`portal assets built in ${out}`);
