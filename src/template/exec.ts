// Go text/template's evaluator (text/template/exec.go) over JSON-shaped
// data: fields and methods, maps, variables and their scopes, pipelines
// (each command's result the next one's last argument), if/with/range
// with else, break/continue, and Go's argument checks for functions.
import { TemplateExecError } from './errors.js';
import type { FuncDef, FuncMap, Param } from './funcs.js';
import { argText, type ArgNode, type CommandNode, type ListNode, type Node, type PipeNode } from './nodes.js';
import { entries, formatValue, isMap, isTrue, typeName } from './values.js';

/** No previous command in the pipeline (distinct from a previous result that is "no value"). */
const NO_FINAL = Symbol('no final');
type Final = unknown;

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

export function execute(tree: ListNode, data: unknown, funcs: FuncMap, src: string): string {
  const s = new State(data, funcs, src);
  s.walkList(data, tree);
  return s.out;
}

class State {
  out = '';
  private vars: Array<{ name: string; value: unknown }>;
  private at: { pos: number; text: string } = { pos: 0, text: '' };

  constructor(root: unknown, private readonly funcs: FuncMap, private readonly src: string) {
    this.vars = [{ name: '$', value: root }];
  }

  private setAt(n: ArgNode | CommandNode): void {
    this.at = { pos: n.pos, text: argText(n) };
  }

  private error(message: string): TemplateExecError {
    return new TemplateExecError(message, this.src, this.at.pos, this.at.text);
  }

  walkList(dot: unknown, list: ListNode): void {
    for (const n of list) this.walk(dot, n);
  }

  private walk(dot: unknown, n: Node): void {
    switch (n.kind) {
      case 'text':
        this.out += n.text;
        return;
      case 'action': {
        const v = this.evalPipeline(dot, n.pipe);
        if (n.pipe.decl.length === 0) this.print(n.pipe, v);
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const v = this.evalPipeline(dot, n.pipe);
        if (isTrue(v)) this.walkList(n.kind === 'with' ? v : dot, n.list);
        else if (n.elseList) this.walkList(dot, n.elseList);
        this.vars.length = mark;
        return;
      }
      case 'range':
        return this.walkRange(dot, n);
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
    }
  }

  private walkRange(dot: unknown, n: Extract<Node, { kind: 'range' }>): void {
    const outer = this.vars.length;
    const val = this.evalPipeline(dot, n.pipe);
    const mark = this.vars.length;
    const decl = n.pipe.decl;
    const one = (index: unknown, elem: unknown): boolean => {
      if (decl.length > 0) {
        if (n.pipe.isAssign) {
          this.setVar(decl[0], decl.length > 1 ? index : elem);
          if (decl.length > 1) this.setVar(decl[1], elem);
        } else {
          this.vars[this.vars.length - 1].value = elem;
          if (decl.length > 1) this.vars[this.vars.length - 2].value = index;
        }
      }
      try {
        this.walkList(elem, n.list);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        this.vars.length = mark;
      }
      return true;
    };
    let items: Array<[unknown, unknown]> = [];
    if (Array.isArray(val)) items = val.map((x, i) => [i, x]);
    else if (typeof val === 'number' && Number.isInteger(val)) {
      if (decl.length > 1) throw this.error(`can't use ${val} to iterate over more than one variable`);
      items = Array.from({ length: Math.max(0, val) }, (_x, i) => [i, i]);
    } else if (typeof val === 'object' && val !== null) {
      // Maps in key order; a struct is ranged as a map too (Go refuses; Docker's raw-JSON data allows it).
      items = entries(val);
    } else if (val !== undefined && val !== null) {
      this.setAt(n.pipe);
      throw this.error(`range can't iterate over ${formatValue(val)}`);
    }
    for (const [k, v] of items) if (!one(k, v)) break;
    if (items.length === 0 && n.elseList) this.walkList(dot, n.elseList);
    this.vars.length = outer;
  }

  private print(n: PipeNode, v: unknown): void {
    if (typeof v === 'function') {
      this.setAt(n);
      throw this.error(`can't print ${argText(n)} of type func`);
    }
    this.out += formatValue(v);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    throw this.error(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    throw this.error(`undefined variable: ${name}`);
  }

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.setAt(pipe);
    let value: unknown = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    if (value === NO_FINAL) value = undefined;
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, value);
      else this.vars.push({ name, value });
    }
    return value;
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== NO_FINAL) throw this.error(`can't give argument to non-function ${argText(args[0])}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field':
        this.setAt(first);
        return this.evalFieldChain(dot, dot, first.idents, cmd.args, final);
      case 'chain':
        return this.evalChain(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first.name, first, cmd.args, final);
      case 'pipe':
        this.setAt(first);
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariable(dot, first, cmd.args, final);
    }
    this.setAt(first);
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
      case 'number':
      case 'string':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        throw this.error('nil is not a command');
    }
  }

  private evalChain(dot: unknown, n: Extract<ArgNode, { kind: 'chain' }>, args: ArgNode[], final: Final): unknown {
    this.setAt(n);
    if (n.node.kind === 'nil') throw this.error(`indirection through explicit nil in ${argText(n)}`);
    const receiver = this.evalArg(dot, 'any', n.node, true);
    this.setAt(n);
    return this.evalFieldChain(dot, receiver, n.idents, args, final);
  }

  private evalVariable(dot: unknown, n: Extract<ArgNode, { kind: 'variable' }>, args: ArgNode[], final: Final): unknown {
    this.setAt(n);
    const value = this.varValue(n.name);
    if (n.idents.length === 0) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, n.idents, args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, idents: string[], args: ArgNode[], final: Final): unknown {
    for (let i = 0; i < idents.length - 1; i++) receiver = this.evalField(dot, receiver, idents[i], [], NO_FINAL);
    return this.evalField(dot, receiver, idents[idents.length - 1], args, final);
  }

  /** `receiver.name`: a method (called with the command's arguments), a struct field or a map entry. */
  private evalField(dot: unknown, receiver: unknown, name: string, args: ArgNode[], final: Final): unknown {
    // A field of no value is no value (Go's default missingkey behaviour).
    if (receiver === undefined) return undefined;
    if (receiver === null) throw this.error(`nil pointer evaluating interface {}.${name}`);
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    if (receiver instanceof Map) {
      if (hasArgs) throw this.error(`${name} is not a method but has arguments`);
      return receiver.get(name);
    }
    if (typeof receiver === 'object' && Object.hasOwn(receiver, name)) {
      const v = (receiver as Record<string, unknown>)[name];
      if (typeof v === 'function') return this.callMethod(dot, receiver, name, v, args, final);
      if (hasArgs) throw this.error(isMap(receiver) ? `${name} is not a method but has arguments` : `${name} has arguments but cannot be invoked as function`);
      return v;
    }
    // Methods defined on a prototype (class instances) count too.
    const method = typeof receiver === 'object' ? (receiver as Record<string, unknown>)[name] : undefined;
    if (typeof method === 'function' && !Object.hasOwn(Object.prototype, name)) return this.callMethod(dot, receiver, name, method, args, final);
    if (isMap(receiver)) {
      if (hasArgs) throw this.error(`${name} is not a method but has arguments`);
      return undefined;
    }
    throw this.error(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  private evalFunction(dot: unknown, name: string, node: ArgNode, args: ArgNode[], final: Final): unknown {
    this.setAt(node);
    const f = this.funcs[name];
    if (!f) throw this.error(`"${name}" is not a defined function`);
    if (name === 'and' || name === 'or') {
      const rest = args.slice(1);
      if (rest.length + (final !== NO_FINAL ? 1 : 0) < 1) throw this.error(`wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (const a of rest) {
        v = this.evalArg(dot, 'any', a);
        if (isTrue(v) === (name === 'or')) return v;
      }
      if (final !== NO_FINAL) v = final;
      return v;
    }
    return this.call(dot, name, f, args.slice(1), final, (argv) => (f.fn as (...a: unknown[]) => unknown)(...argv));
  }

  /** A function-valued field: a method of the data, its parameters as many as the function declares. */
  private callMethod(dot: unknown, receiver: unknown, name: string, fn: unknown, args: ArgNode[], final: Final): unknown {
    const f = fn as (...a: unknown[]) => unknown;
    return this.call(dot, name, { params: Array<Param>(f.length).fill('any'), fn: f }, args.slice(1), final, (argv) => f.apply(receiver, argv));
  }

  /** Checks the argument count and types as Go does, evaluates the arguments (the previous command's result last), then calls. */
  private call(dot: unknown, name: string, f: FuncDef, nodes: ArgNode[], final: Final, invoke: (argv: unknown[]) => unknown): unknown {
    const { params, variadic } = f;
    const numIn = nodes.length + (final !== NO_FINAL ? 1 : 0);
    if (variadic) {
      if (numIn < params.length) throw this.error(`wrong number of args for ${name}: want at least ${params.length} got ${numIn}`);
    } else if (numIn !== params.length) {
      throw this.error(`wrong number of args for ${name}: want ${params.length} got ${numIn}`);
    }
    const typeAt = (i: number): Param => (i < params.length ? params[i] : (variadic ?? 'any'));
    const argv = nodes.map((n, i) => this.evalArg(dot, typeAt(i), n));
    if (final !== NO_FINAL) argv.push(this.check(final, typeAt(argv.length)));
    try {
      return invoke(argv);
    } catch (e) {
      if (e instanceof TemplateExecError || !(e instanceof Error)) throw e;
      throw this.error(`error calling ${name}: ${e.message}`);
    }
  }

  /** Evaluates an argument and checks it against the parameter type. */
  private evalArg(dot: unknown, type: Param, n: ArgNode, receiver = false): unknown {
    this.setAt(n);
    let v: unknown;
    switch (n.kind) {
      case 'dot': v = dot; break;
      case 'nil':
        if (type === 'any' || type === 'strings') return null;
        throw this.error(`cannot assign nil to ${goType(type)}`);
      case 'field': v = this.evalFieldChain(dot, dot, n.idents, [n], NO_FINAL); break;
      case 'variable': v = this.evalVariable(dot, n, [n], NO_FINAL); break;
      case 'pipe': v = this.evalPipeline(dot, n); break;
      case 'identifier': v = this.evalFunction(dot, n.name, n, [n], NO_FINAL); break;
      case 'chain': v = this.evalChain(dot, n, [n], NO_FINAL); break;
      case 'bool':
      case 'number':
      case 'string':
        v = n.value;
        break;
    }
    this.setAt(n);
    return receiver ? v : this.check(v, type);
  }

  private check(v: unknown, type: Param): unknown {
    if (type === 'any') return v === undefined ? null : v;
    if (v === undefined) throw this.error(`invalid value; expected ${goType(type)}`);
    const ok =
      type === 'string' ? typeof v === 'string'
        : type === 'int' ? typeof v === 'number' && Number.isInteger(v)
          : type === 'bool' ? typeof v === 'boolean'
            : v === null || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!ok) throw this.error(`wrong type for value; expected ${goType(type)}; got ${typeName(v)}`);
    return type === 'strings' && v === null ? [] : v;
  }
}

function goType(p: Param): string {
  return p === 'strings' ? '[]string' : p === 'any' ? 'interface {}' : p;
}

