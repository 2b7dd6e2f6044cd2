// Lets Node run the TypeScript examples directly, with one command:
//
//   node -r ./examples/register.cjs examples/<name>.ts [args]
//
// Node 20 cannot execute TypeScript, so this hooks require() for .ts files and
// strips the types with TypeScript's transpileModule (a devDependency). No
// type check happens here: `npx tsc -p examples` checks the examples, and the
// example tests run it. The examples import 'netsock' by its package name,
// which resolves to this checkout's build (run `npm run build` once).
'use strict'
const fs = require('node:fs')
const ts = require('typescript')

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      inlineSourceMap: true,
    },
  })
  module._compile(outputText, filename)
}
