import { parseStackConfig } from "./components/config";
import { ConfigError } from "./components/config";
import { capi, eks, kubeadm, lke, PEM, TOKEN } from "./test/fixtures/bad-configs";
import { cases } from "./scratch-cases";
const pool = { name: "web", count: 3, type: "g6-standard-4" };
const lkePool = (over: Record<string, unknown>) => lke({ nodePools: [{ ...pool, ...over }] });
void capi; void eks; void kubeadm; void PEM; void TOKEN; void lkePool;
const ev = (src: string) => new Function("lke","eks","kubeadm","capi","PEM","TOKEN","pool","lkePool", `return (${src});`)(lke, eks, kubeadm, capi, PEM, TOKEN, pool, lkePool);
const out: string[] = [];
for (const c of cases) {
  const raw = JSON.parse(JSON.stringify(ev(c.raw)));
  const other = c.otherKeys ? ev(c.otherKeys) : undefined;
  const secretKeys = c.secretKeys ? ev(c.secretKeys) : undefined;
  let lines: string[] = [];
  try { parseStackConfig("dev", raw, { otherConfig: other, secretKeys }); lines = ["ACCEPTED"]; }
  catch (e) { lines = e instanceof ConfigError ? (e.message.split("\n").slice(1).map((l) => l.replace(/^  - /, ""))) : [String(e)]; }
  out.push(`    {\n        name: ${JSON.stringify(c.name)},\n        raw: ${c.raw},\n${c.otherKeys ? `        otherKeys: ${c.otherKeys},\n` : ""}${c.secretKeys ? `        secretKeys: ${c.secretKeys},\n` : ""}        schema: ${c.schema},\n        expect: [\n${lines.map((l) => `            ${JSON.stringify(l).replace(/^"Pulumi\.dev\.yaml: stack \\"dev\\"/, "`${F}").replace(/"$/, "`").replace(/\\"/g, '"')},`).join("\n")}\n        ],\n    },`);
}
console.log(out.join("\n"));
