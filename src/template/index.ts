// Go text/template for tsrun's --format flags, with Docker's functions.
// One engine for every verb: lexer.ts → parser.ts → exec.ts (compile.ts
// ties them), Go's predefined functions in builtins.ts (printf in
// printf.ts), Docker's in docker-funcs.ts, Go's value rules in values.ts,
// and Docker's list formatting (table prefix, header row, aligned
// columns) in docker-format.ts.
export { compile, DEFAULT_FUNCS, type Template } from './compile.js';
export { markMap, markMapPaths } from './values.js';
export { listFormatter, inspectFormatter, tabwrite, type ListFormatter } from './docker-format.js';
export type { FuncMap } from './funcs.js';
