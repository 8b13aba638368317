// deploy/kubernetes/schemas/validate-cnpg.mjs: validates CloudNativePG resources (postgresql.cnpg.io/v1) against the
// operator's CRD schemas as packaged by @kubernetes-models/cloudnative-pg (deploy/tools/package-lock.json).
// Reads a JSON array of resources on stdin; prints one line per resource ("ok <kind>/<name>" or
// "invalid <kind>/<name>: <reason>") and exits 1 when any is invalid or of a kind the package lacks.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const tools = path.resolve(here, "../../tools/node_modules/@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1");
const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (chunk) => (data += chunk));
  process.stdin.on("end", () => resolve(data));
}));
let failed = false;
for (const doc of input) {
  const id = `${doc.kind}/${doc.metadata?.name}`;
  try {
    if (doc.apiVersion !== "postgresql.cnpg.io/v1") throw new Error(`apiVersion ${doc.apiVersion}`);
    const mod = await import(path.join(tools, `${doc.kind}.js`));
    new mod[doc.kind](doc).validate();
    console.log(`ok ${id}`);
  } catch (err) {
    failed = true;
    console.log(`invalid ${id}: ${String(err.message || err).split("\n").slice(0, 5).join(" ")}`);
  }
}
process.exit(failed ? 1 : 0);
