// A template ready to run: parsed once, executed per item.
import { BUILTINS } from './builtins.js';
import { DOCKER_FUNCS } from './docker-funcs.js';
import { execute } from './exec.js';
import type { FuncMap } from './funcs.js';
import { parse } from './parser.js';

/** Go's predefined functions and Docker's. */
export const DEFAULT_FUNCS: FuncMap = { ...BUILTINS, ...DOCKER_FUNCS };

export interface Template {
  readonly source: string;
  /** Runs the template over `data`; `funcs` replaces functions by name for this run (the names must have existed at parse time). */
  execute(data: unknown, funcs?: FuncMap): string;
}

/** Parses a template; a syntax error, or an unknown function or variable, throws (INVALID_ARGUMENT, worded as Go's). */
export function compile(source: string, funcs: FuncMap = DEFAULT_FUNCS): Template {
  const tree = parse(source, (name) => Object.hasOwn(funcs, name));
  return {
    source,
    execute: (data, extra) => execute(tree, data, extra ? { ...funcs, ...extra } : funcs, source),
  };
}
