#!/usr/bin/env node
// Print the creation bytecode and ABI of circomlibjs's generated Poseidon
// contracts (the pinned npm package, `npm ci`), as JSON on stdout:
//
//   node poseidon_contract.js [N ...]
//
//   {"circomlibjs": "0.1.7",
//    "contracts": {"1": {"nInputs": 1, "bytecode": "0x...", "abi": [...]}, ...}}
//
// N is a number of inputs, 1 to 6; without arguments every N from 1 to 6 is
// printed. circomlibjs 0.1.7's createCode(N) accepts N <= 8, but it keeps the
// state on the EVM stack and from N = 7 on needs DUP17, which does not exist:
// it throws "Assertion failed" (iden3/circomlibjs#17), so 6 is the real limit
// and N = 7 or 8 is refused here with that reason. Each contract
// answers `poseidon(uint256[N]) returns (uint256)` (and the same with
// bytes32), hashing exactly as circomlib's Poseidon(N) template and
// zkml.poseidon.poseidon do. Bad usage exits with 2; a missing package with 3.
"use strict";

const path = require("path");

const MAX_INPUTS = 6; // not 8: see above

function fail(status, message) {
  process.stderr.write(`poseidon_contract.js: ${message}\n`);
  process.exit(status);
}

function parseArgs(argv) {
  if (argv.length === 0) return Array.from({ length: MAX_INPUTS }, (_, i) => i + 1);
  return argv.map((arg) => {
    if (!/^[1-9][0-9]*$/.test(arg) || Number(arg) > MAX_INPUTS) {
      fail(2, `${JSON.stringify(arg)} is not a number of inputs in 1..${MAX_INPUTS} ` +
        "(circomlibjs's generator needs DUP17 from 7 inputs on, iden3/circomlibjs#17)\n" +
        "usage: node poseidon_contract.js [N ...]");
    }
    return Number(arg);
  });
}

function main() {
  const counts = parseArgs(process.argv.slice(2));
  let circomlibjs;
  let version;
  try {
    circomlibjs = require("circomlibjs");
    version = require(path.join(path.dirname(require.resolve("circomlibjs")), "..", "package.json")).version;
  } catch (err) {
    fail(3, `the npm package circomlibjs is not installed in ${__dirname} (run \`npm ci\` there): ${err.message}`);
  }
  const generator = circomlibjs.poseidonContract;
  const contracts = {};
  for (const n of counts) {
    contracts[n] = { nInputs: n, bytecode: generator.createCode(n), abi: generator.generateABI(n) };
  }
  process.stdout.write(JSON.stringify({ circomlibjs: version, contracts }) + "\n");
}

main();
