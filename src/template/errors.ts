// Template errors, worded as Go's: parse errors `template: :LINE: msg`,
// execution errors `template: :LINE:COL: executing "" at <.Node>: msg`.
import { TsrunError } from '../errors.js';

function lineCol(src: string, pos: number): { line: number; col: number } {
  const before = src.slice(0, pos);
  return { line: before.split('\n').length, col: pos - (before.lastIndexOf('\n') + 1) };
}

export class TemplateError extends TsrunError {
  constructor(message: string, src: string, pos: number) {
    super('INVALID_ARGUMENT', `template: :${lineCol(src, pos).line}: ${message}`);
  }
}

export class TemplateExecError extends TsrunError {
  constructor(message: string, src: string, pos: number, context: string) {
    const { line, col } = lineCol(src, pos);
    super('INVALID_ARGUMENT', `template: :${line}:${col}: executing "" at <${context}>: ${message}`);
  }
}
