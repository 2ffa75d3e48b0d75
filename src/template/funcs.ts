// How template functions are declared: Go checks each argument against
// the function's parameter types before calling it, and so does exec.ts.

/** Go parameter types the functions use: interface{}, string, int, []string, bool. */
export type Param = 'any' | 'string' | 'int' | 'strings' | 'bool';

export interface FuncDef {
  params: Param[];
  /** The type of any further arguments (Go's `...T`). */
  variadic?: Param;
  fn: (...args: never[]) => unknown;
}

export type FuncMap = Record<string, FuncDef>;

/** Thrown by a function body; reported as Go does: `error calling NAME: MESSAGE`. */
export class FuncError extends Error {}

/** A function of fixed parameter types. */
export function def<A extends unknown[]>(params: Param[], fn: (...args: A) => unknown, variadic?: Param): FuncDef {
  return { params, fn: fn as unknown as FuncDef['fn'], ...(variadic ? { variadic } : {}) };
}
