// Go text/template's parser (text/template/parse): tokens → a tree of
// text, actions, if/with/range (with else and else if), pipelines,
// variables and literals. define/template/block are refused.
import { TemplateError } from './errors.js';
import { lex, type Token } from './lexer.js';
import type { ArgNode, CommandNode, ListNode, Node, PipeNode } from './nodes.js';

type EndMarker = { kind: 'end'; pos: number } | { kind: 'else'; pos: number; chained?: 'if' | 'with' };

const OPERAND_START = new Set(['bool', 'char', 'dot', 'field', 'identifier', 'number', 'nil', 'rawString', 'string', 'variable', 'lparen']);

/** Parses `src`; `hasFunction` says which identifiers are functions (Go refuses the others at parse time). */
export function parse(src: string, hasFunction: (name: string) => boolean): ListNode {
  return new Parser(src, hasFunction).parse();
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(private readonly src: string, private readonly hasFunction: (name: string) => boolean) {
    this.tokens = lex(src);
  }

  parse(): ListNode {
    const list: ListNode = [];
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') throw this.error(`unexpected {{${n.kind}}}`, n.pos);
      list.push(n);
    }
    return list;
  }

  private error(message: string, pos: number): TemplateError {
    return new TemplateError(message, this.src, pos);
  }

  private next(): Token {
    return this.tokens[this.i++] ?? this.tokens[this.tokens.length - 1];
  }

  private peek(): Token {
    return this.tokens[this.i] ?? this.tokens[this.tokens.length - 1];
  }

  private backup(): void {
    this.i--;
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.type === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private expect(type: Token['type'], context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) throw this.unexpected(t, context);
    return t;
  }

  private unexpected(t: Token, context: string): TemplateError {
    if (t.type === 'eof') return this.error(`unexpected EOF`, t.pos);
    const what = t.type === 'right' ? '"}}"' : t.type === 'rparen' ? '")"' : JSON.stringify(t.value);
    return this.error(`unexpected ${what} in ${context}`, t.pos);
  }

  /** A list of nodes up to {{end}} or {{else}}, which is returned with it. */
  private itemList(): { list: ListNode; end: EndMarker } {
    const list: ListNode = [];
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') return { list, end: n as EndMarker };
      list.push(n as Node);
    }
    throw this.error('unexpected EOF', this.src.length);
  }

  private textOrAction(): Node | EndMarker {
    const t = this.nextNonSpace();
    if (t.type === 'text') return { kind: 'text', pos: t.pos, text: t.value };
    if (t.type === 'left') return this.action();
    throw this.unexpected(t, 'input');
  }

  private action(): Node | EndMarker {
    const t = this.nextNonSpace();
    if (t.type === 'keyword') {
      switch (t.value) {
        case 'if':
        case 'with':
        case 'range':
          return this.control(t.value, t.pos);
        case 'end':
          this.expect('right', 'end');
          return { kind: 'end', pos: t.pos };
        case 'else': {
          const after = this.peekNonSpace();
          if (after.type === 'keyword' && (after.value === 'if' || after.value === 'with')) return { kind: 'else', pos: t.pos, chained: after.value };
          this.expect('right', 'else');
          return { kind: 'else', pos: t.pos };
        }
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) throw this.error(`{{${t.value}}} outside {{range}}`, t.pos);
          this.expect('right', t.value);
          return { kind: t.value, pos: t.pos };
        default:
          throw this.error(`{{${t.value}}} is not supported`, t.pos);
      }
    }
    this.backup();
    return { kind: 'action', pos: t.pos, pipe: this.pipeline('command', 'right') };
  }

  private control(context: 'if' | 'with' | 'range', pos: number): Node {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, 'right');
      if (context === 'range') this.rangeDepth++;
      const body = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | undefined;
      if (body.end.kind === 'else') {
        const chained = body.end.chained;
        if (chained) {
          if (chained !== context) throw this.error(`unexpected {{else ${chained}}} in {{${context}}}`, body.end.pos);
          // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} with one {{end}} (and {{else with}} alike).
          const kw = this.nextNonSpace();
          elseList = [this.control(chained, kw.pos)];
        } else {
          const rest = this.itemList();
          if (rest.end.kind !== 'end') throw this.error('expected end; found {{else}}', rest.end.pos);
          elseList = rest.list;
        }
      }
      return { kind: context, pos, pipe, list: body.list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  private pipeline(context: string, end: 'right' | 'rparen'): PipeNode {
    const start = this.peekNonSpace();
    const pipe: PipeNode = { kind: 'pipe', pos: start.pos, decl: [], isAssign: false, cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        if (pipe.cmds.length === 0) throw this.error(`missing value for ${context}`, t.pos);
        pipe.cmds.forEach((c, i) => {
          const first = c.args[0];
          if (i > 0 && ['bool', 'dot', 'nil', 'number', 'string'].includes(first.kind)) {
            throw this.error(`non executable command in pipeline stage ${i + 1}`, c.pos);
          }
        });
        return pipe;
      }
      if (!OPERAND_START.has(t.type)) throw this.unexpected(t, context);
      this.backup();
      pipe.cmds.push(this.command());
    }
  }

  /** `$x :=`, `$x =`, and range's `$i, $e :=`. */
  private declarations(pipe: PipeNode, context: string): void {
    const save = this.i;
    const v = this.nextNonSpace();
    if (v.type !== 'variable') {
      this.i = save;
      return;
    }
    const op = this.nextNonSpace();
    if (op.type === 'declare' || op.type === 'assign') {
      pipe.isAssign = op.type === 'assign';
      if (pipe.isAssign && !this.vars.includes(v.value)) throw this.error(`undefined variable "${v.value}"`, v.pos);
      pipe.decl.push(v.value);
      if (!pipe.isAssign) this.vars.push(v.value);
      return;
    }
    if (op.type === 'comma' && context === 'range') {
      const v2 = this.expect('variable', 'range');
      const op2 = this.nextNonSpace();
      if (op2.type !== 'declare' && op2.type !== 'assign') throw this.error('range can only initialize variables', op2.pos);
      pipe.isAssign = op2.type === 'assign';
      pipe.decl.push(v.value, v2.value);
      if (!pipe.isAssign) this.vars.push(v.value, v2.value);
      return;
    }
    if (op.type === 'comma') throw this.error(`too many declarations in ${context}`, op.pos);
    this.i = save;
  }

  private command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.type === 'space') continue;
      if (t.type === 'right' || t.type === 'rparen') this.backup();
      else if (t.type !== 'pipe') throw this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) throw this.error('empty command', cmd.pos);
    return cmd;
  }

  private operand(): ArgNode | null {
    const node = this.term();
    if (!node || this.peek().type !== 'field') return node;
    const idents: string[] = [];
    while (this.peek().type === 'field') idents.push(this.next().value.slice(1));
    switch (node.kind) {
      case 'field': return { ...node, idents: [...node.idents, ...idents] };
      case 'variable': return { ...node, idents: [...node.idents, ...idents] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        throw this.error(`unexpected . after term ${JSON.stringify(node.kind === 'dot' ? '.' : 'text' in node ? node.text : String('value' in node ? node.value : 'nil'))}`, node.pos);
      default: return { kind: 'chain', pos: node.pos, node, idents };
    }
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.type) {
      case 'identifier':
        if (!this.hasFunction(t.value)) throw this.error(`function "${t.value}" not defined`, t.pos);
        return { kind: 'identifier', pos: t.pos, name: t.value };
      case 'dot': return { kind: 'dot', pos: t.pos };
      case 'nil': return { kind: 'nil', pos: t.pos };
      case 'variable':
        if (!this.vars.includes(t.value)) throw this.error(`undefined variable "${t.value}"`, t.pos);
        return { kind: 'variable', pos: t.pos, name: t.value, idents: [] };
      case 'field': return { kind: 'field', pos: t.pos, idents: [t.value.slice(1)] };
      case 'bool': return { kind: 'bool', pos: t.pos, value: t.value === 'true' };
      case 'number': return { kind: 'number', pos: t.pos, value: this.number(t), text: t.value };
      case 'char': return { kind: 'number', pos: t.pos, value: this.unquote(t).codePointAt(0) ?? 0, text: t.value };
      case 'lparen': return this.pipeline('parenthesized pipeline', 'rparen');
      case 'string':
      case 'rawString': return { kind: 'string', pos: t.pos, value: this.unquote(t), text: t.value };
    }
    this.backup();
    return null;
  }

  private number(t: Token): number {
    const text = t.value.replace(/_/g, '');
    const sign = text.startsWith('-') ? -1 : 1;
    const body = text.replace(/^[+-]/, '');
    const n = /^0[xXbBoO]/.test(body) ? Number(body.toLowerCase()) : Number(body);
    if (Number.isNaN(n)) throw this.error(`illegal number syntax: "${t.value}"`, t.pos);
    return sign * n;
  }

  /** Go's strconv.Unquote for "..." (escapes), `...` (raw) and '.' (one character). */
  private unquote(t: Token): string {
    const q = t.value[0];
    const body = t.value.slice(1, -1);
    if (q === '`') return body;
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i];
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = body[++i];
      const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
      if (e in simple && (e !== "'" || q === "'") && (e !== '"' || q === '"')) {
        out += simple[e];
        continue;
      }
      const hex = (len: number) => {
        const h = body.slice(i + 1, i + 1 + len);
        if (h.length !== len || !/^[0-9a-fA-F]+$/.test(h)) throw this.error(`invalid syntax: ${t.value}`, t.pos);
        i += len;
        return parseInt(h, 16);
      };
      if (e === 'x') out += String.fromCharCode(hex(2));
      else if (e === 'u') out += String.fromCodePoint(hex(4));
      else if (e === 'U') out += String.fromCodePoint(hex(8));
      else if (/[0-7]/.test(e ?? '') && /^[0-7]{3}$/.test(body.slice(i, i + 3))) {
        out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8));
        i += 2;
      } else throw this.error(`invalid syntax: ${t.value}`, t.pos);
    }
    if (q === "'" && [...out].length !== 1) throw this.error(`malformed character constant: ${t.value}`, t.pos);
    return out;
  }
}
