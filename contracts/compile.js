#!/usr/bin/env node
// Compile one Solidity contract with the pinned npm `solc` (standard-JSON API)
// and print {abi, bytecode, deployedBytecode, methodIdentifiers, compiler} as
// JSON on stdout.
//
//   node compile.js [--contract NAME] [--evm-version VERSION] [PATH | -]
//
// The source comes from PATH, or from stdin when PATH is "-" or absent.
// Without --contract the source must define exactly one contract.
// Compile errors: the solc messages go to stderr and the exit status is 1;
// bad usage exits with 2. Warnings go to stderr and do not fail the build.
//
// Settings are fixed here, not left to solc's defaults, so that a verifier
// compiles to the same bytecode on every machine: optimizer on with 200 runs,
// and an explicit EVM version. "paris" (no PUSH0) is the default because it
// deploys on every EVM chain we know of, including L2s that lag behind
// mainnet's opcode set; the gas it costs over "shanghai" is a few units.
"use strict";

const fs = require("fs");
const path = require("path");

const DEFAULT_EVM_VERSION = "paris";
const OPTIMIZER_RUNS = 200;

function usage(message) {
  process.stderr.write(
    `compile.js: ${message}\n` +
      "usage: node compile.js [--contract NAME] [--evm-version VERSION] [PATH | -]\n"
  );
  process.exit(2);
}

function parseArgs(argv) {
  const args = { contract: null, evmVersion: DEFAULT_EVM_VERSION, source: "-" };
  let positional = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--contract" || arg === "--evm-version") {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      const value = argv[++i];
      if (arg === "--contract") args.contract = value;
      else args.evmVersion = value;
    } else if (arg === "-h" || arg === "--help") {
      process.stdout.write(
        "usage: node compile.js [--contract NAME] [--evm-version VERSION] [PATH | -]\n"
      );
      process.exit(0);
    } else if (arg.startsWith("--")) {
      usage(`unknown option ${arg}`);
    } else {
      if (positional++ > 0) usage("only one source file may be given");
      args.source = arg;
    }
  }
  return args;
}

function readSource(source) {
  try {
    if (source === "-") return { name: "<stdin>.sol", content: fs.readFileSync(0, "utf8") };
    return { name: path.basename(source), content: fs.readFileSync(source, "utf8") };
  } catch (err) {
    process.stderr.write(`compile.js: cannot read ${source === "-" ? "stdin" : source}: ${err.message}\n`);
    process.exit(2);
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  let solc;
  try {
    solc = require("solc");
  } catch (err) {
    process.stderr.write(
      "compile.js: the npm package `solc` is not installed; run `npm ci` in contracts/\n"
    );
    process.exit(3);
  }
  const { name, content } = readSource(args.source);

  const input = {
    language: "Solidity",
    sources: { [name]: { content } },
    settings: {
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      evmVersion: args.evmVersion,
      outputSelection: {
        "*": {
          "*": [
            "abi",
            "evm.bytecode.object",
            "evm.deployedBytecode.object",
            "evm.methodIdentifiers",
          ],
        },
      },
    },
  };
  // No import callback: a verifier is one self-contained file, and an import
  // that cannot be resolved must be a compile error, not a file-system read.
  const output = JSON.parse(solc.compile(JSON.stringify(input)));

  let failed = false;
  for (const diagnostic of output.errors || []) {
    process.stderr.write((diagnostic.formattedMessage || diagnostic.message) + "\n");
    if (diagnostic.severity === "error") failed = true;
  }
  if (failed) process.exit(1);

  const contracts = (output.contracts || {})[name] || {};
  const names = Object.keys(contracts);
  let chosen = args.contract;
  if (chosen === null) {
    if (names.length !== 1) {
      process.stderr.write(
        `compile.js: the source defines ${names.length} contracts (${names.join(", ")}); ` +
          "pick one with --contract NAME\n"
      );
      process.exit(1);
    }
    chosen = names[0];
  }
  const contract = contracts[chosen];
  if (!contract) {
    process.stderr.write(
      `compile.js: no contract named ${chosen} in the source (found: ${names.join(", ") || "none"})\n`
    );
    process.exit(1);
  }
  if (!contract.evm.bytecode.object) {
    process.stderr.write(`compile.js: ${chosen} is abstract or an interface; it has no bytecode\n`);
    process.exit(1);
  }

  const result = {
    contractName: chosen,
    abi: contract.abi,
    bytecode: "0x" + contract.evm.bytecode.object,
    deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
    methodIdentifiers: contract.evm.methodIdentifiers,
    compiler: {
      solc: solc.version(),
      evmVersion: args.evmVersion,
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
    },
  };
  process.stdout.write(JSON.stringify(result) + "\n");
}

main();
