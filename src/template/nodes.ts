// The parse tree of a Go text/template (text/template/parse's node kinds).

export type Node = TextNode | ActionNode | IfNode | RangeNode | WithNode | BreakNode | ContinueNode;
export type ListNode = Node[];

export interface TextNode { kind: 'text'; pos: number; text: string }
/** `{{pipeline}}`: printed unless it declares variables. */
export interface ActionNode { kind: 'action'; pos: number; pipe: PipeNode }
export interface IfNode { kind: 'if'; pos: number; pipe: PipeNode; list: ListNode; elseList?: ListNode }
export interface WithNode { kind: 'with'; pos: number; pipe: PipeNode; list: ListNode; elseList?: ListNode }
export interface RangeNode { kind: 'range'; pos: number; pipe: PipeNode; list: ListNode; elseList?: ListNode }
export interface BreakNode { kind: 'break'; pos: number }
export interface ContinueNode { kind: 'continue'; pos: number }

/** `$x := a | b c`: commands chained by `|`, each result the next one's last argument. */
export interface PipeNode {
  kind: 'pipe';
  pos: number;
  /** Variables declared (`:=`) or assigned (`=`). */
  decl: string[];
  isAssign: boolean;
  cmds: CommandNode[];
}

export interface CommandNode { kind: 'command'; pos: number; args: ArgNode[] }

export type ArgNode =
  | { kind: 'field'; pos: number; idents: string[] }
  | { kind: 'variable'; pos: number; name: string; idents: string[] }
  | { kind: 'chain'; pos: number; node: ArgNode; idents: string[] }
  | { kind: 'identifier'; pos: number; name: string }
  | { kind: 'dot'; pos: number }
  | { kind: 'nil'; pos: number }
  | { kind: 'bool'; pos: number; value: boolean }
  | { kind: 'number'; pos: number; value: number; text: string }
  | { kind: 'string'; pos: number; value: string; text: string }
  | PipeNode;

/** How an argument reads in a template, for error messages (`<.Config.Nope>`). */
export function argText(n: ArgNode | CommandNode): string {
  switch (n.kind) {
    case 'field': return `.${n.idents.join('.')}`;
    case 'variable': return [n.name, ...n.idents].join('.');
    case 'chain': return `${n.node.kind === 'pipe' ? `(${argText(n.node)})` : argText(n.node)}.${n.idents.join('.')}`;
    case 'identifier': return n.name;
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'bool': return String(n.value);
    case 'number':
    case 'string': return n.text;
    case 'command': return n.args.map(argText).join(' ');
    case 'pipe': return `${n.decl.length ? `${n.decl.join(', ')} ${n.isAssign ? '=' : ':='} ` : ''}${n.cmds.map(argText).join(' | ')}`;
  }
}
