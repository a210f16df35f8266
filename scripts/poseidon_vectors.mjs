// Prints circomlibjs poseidon test vectors (hard-coded in native/src/gadgets/poseidon.rs
// and tests/test_poseidon.py), checking that its reference and optimised
// implementations agree on each:
//   mkdir -p /tmp/pos && (cd /tmp/pos && npm install circomlibjs@0.1.7)
//   node scripts/poseidon_vectors.mjs /tmp/pos/node_modules/circomlibjs
import path from "node:path";
import { pathToFileURL } from "node:url";
const pkg = process.argv[2];
if (!pkg) throw new Error("usage: node scripts/poseidon_vectors.mjs <path to node_modules/circomlibjs>");
const { buildPoseidonReference, buildPoseidonOpt } = await import(pathToFileURL(path.join(path.resolve(pkg), "main.js")).href);
const ref = await buildPoseidonReference();
const opt = await buildPoseidonOpt();
const F = ref.F;
const cases = [[1],[1,2],[1,2,3],[1,2,3,4],[1,2,3,4,5],[1,2,3,4,5,6],[1,2,3,4,5,6,7],[1,2,3,4,5,6,7,8],[0],[0,0],
 ["21888242871839275222246405745257275088548364400416034343698204186575808495616", "12345678901234567890"], [-3, 7, -1]];
for (const c of cases) {
  const a = F.toString(ref(c.map(BigInt))), b = F.toString(opt(c.map(BigInt)));
  if (a !== b) throw new Error("ref != opt");
  console.log(JSON.stringify(c), a);
}
