// The Go text/template engine (src/template): syntax, fields and maps,
// control structures, variables, pipelines, and Go's error wording.
import { describe, expect, it } from 'vitest';
import { compile, markMap } from '../../src/template/index.js';
import { thrown } from '../helpers/expect-error.js';

const run = (src: string, data: unknown = {}) => compile(src).execute(data);

const container = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 42, ExitCode: 0 },
  Args: ['-c', 'sleep 1'],
  Mounts: [
    { Type: 'volume', Name: 'data', Destination: '/data' },
    { Type: 'bind', Source: '/srv', Destination: '/srv' },
  ],
  Config: { Labels: markMap({ app: 'shop', tier: 'web' }, ''), Env: ['A=1', 'B=2'], Hostname: 'h' },
  NetworkSettings: { Networks: markMap({ bridge: { IPAddress: '10.88.0.2' }, back: { IPAddress: '10.89.0.3' } }) },
};

describe('fields, maps and printing', () => {
  it('prints fields, nested fields and the dot', () => {
    expect(run('{{.Id}} {{.State.Status}} {{.State.Pid}}', container)).toBe('abc123 running 42');
    expect(run('{{.}}', 'x')).toBe('x');
    expect(run('plain text only')).toBe('plain text only');
  });

  it('prints values as Go does: slices, maps (sorted), structs, nil, bools, floats', () => {
    expect(run('{{.Args}}', container)).toBe('[-c sleep 1]');
    expect(run('{{.Config.Labels}}', container)).toBe('map[app:shop tier:web]');
    expect(run('{{.State}}', container)).toBe('{running true 42 0}');
    expect(run('{{.X}}', { X: null })).toBe('<nil>');
    expect(run('{{.X}} {{.Y}} {{.Z}}', { X: 1.5, Y: 1234567.5, Z: 0.00001 })).toBe('1.5 1.2345675e+06 1e-05');
  });

  it('a missing map key is <no value>; a missing struct field is an error naming it', () => {
    expect(run('{{.Config.Labels.nope}}', container)).toBe('<no value>');
    expect(run('{{.Config.Labels.nope.deeper}}', container)).toBe('<no value>');
    expect(run('{{.Config.Labels.app}}', container)).toBe('shop');
    expect(thrown(() => run('{{.Nope}}', container)).message).toBe('template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type struct');
    expect(thrown(() => run('x\n {{.State.Nope}}', container)).message).toMatch(/^template: :2:3: executing "" at <\.State\.Nope>: can't evaluate field Nope/);
  });

  it('a JS Map is a map; a nil receiver is an error', () => {
    expect(run('{{.M.a}}{{.M.b}}', { M: new Map([['a', '1']]) })).toBe('1<no value>');
    expect(thrown(() => run('{{.X.Y}}', { X: null })).message).toMatch(/nil pointer evaluating interface \{\}\.Y/);
  });

  it('calls methods, with arguments and with the previous command as the last one', () => {
    const data = { Labels: { a: '1' }, Label(k: string) { return this.Labels[k as 'a'] ?? ''; }, Twice: (s: string) => s + s };
    expect(run('{{.Label "a"}}|{{.Label "zz"}}|{{"x" | .Twice}}', data)).toBe('1||xx');
    expect(thrown(() => run('{{.Label}}', data)).message).toMatch(/wrong number of args for Label: want 1 got 0/);
    expect(thrown(() => run('{{.Labels "a"}}', data)).message).toMatch(/Labels has arguments but cannot be invoked as function/);
  });
});

describe('control structures and variables', () => {
  it('if / else if / else, with and its else', () => {
    const t = '{{if eq .State.Status "exited"}}E{{else if .State.Running}}R{{else}}?{{end}}';
    expect(run(t, container)).toBe('R');
    expect(run(t, { State: { Status: 'exited' } })).toBe('E');
    expect(run(t, { State: { Status: 'created', Running: false } })).toBe('?');
    expect(run('{{with .State}}{{.Status}}{{end}}', container)).toBe('running');
    expect(run('{{with .Config.Labels.none}}x{{else}}empty{{end}}', container)).toBe('empty');
    expect(run('{{with $x := .Name}}{{$x}}{{end}}', container)).toBe('/web');
  });

  it('range over slices, maps (in key order), numbers; else when empty; break and continue', () => {
    expect(run('{{range .Mounts}}{{.Destination}};{{end}}', container)).toBe('/data;/srv;');
    expect(run('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}', container)).toBe('app=shop,tier=web,');
    expect(run('{{range $i, $e := .Args}}{{$i}}:{{$e}} {{end}}', container)).toBe('0:-c 1:sleep 1 ');
    expect(run('{{range $n, $net := .NetworkSettings.Networks}}{{$n}} {{$net.IPAddress}}\n{{end}}', container)).toBe('back 10.89.0.3\nbridge 10.88.0.2\n');
    expect(run('{{range .L}}x{{else}}none{{end}}', { L: [] })).toBe('none');
    expect(run('{{range .L}}x{{end}}', { L: null })).toBe('');
    expect(run('{{range 3}}{{.}}{{end}}')).toBe('012');
    expect(run('{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}', { L: [1, 2, 3, 4, 5] })).toBe('13');
    expect(thrown(() => run('{{range .S}}{{end}}', { S: 'str' })).message).toMatch(/range can't iterate over str/);
  });

  it('variables: $ is the data, := declares, = assigns, scopes end with their block', () => {
    expect(run('{{range .Mounts}}{{$.Name}}:{{.Destination}} {{end}}', container)).toBe('/web:/data /web:/srv ');
    expect(run('{{$n := 0}}{{range .Mounts}}{{$n = .Destination}}{{end}}{{$n}}', container)).toBe('/srv');
    expect(run('{{$x := "a"}}{{if true}}{{$x := "b"}}{{$x}}{{end}}{{$x}}')).toBe('ba');
    expect(thrown(() => run('{{if true}}{{$y := 1}}{{end}}{{$y}}')).message).toBe('template: :1: undefined variable "$y"');
  });

  it('trim markers eat the white space beside them', () => {
    expect(run('a  {{- "b" -}}  \n c')).toBe('abc');
    expect(run('{{range .Args -}}\n  {{.}}\n{{- end}}', container)).toBe('-csleep 1');
    expect(run('x {{-3}}')).toBe('x -3');
  });

  it('comments, parenthesised pipelines, chained fields after a pipeline, literals', () => {
    expect(run('a{{/* note */}}b{{- /* trimmed */ -}} c')).toBe('abc');
    expect(run('{{(index .Mounts 1).Source}}', container)).toBe('/srv');
    expect(run('{{printf "%d-%s" (len .Args) (index .Args 0)}}', container)).toBe('2--c');
    expect(run('{{"a\\tb"}}|{{`raw\\t`}}|{{\'x\'}}|{{0x10}}|{{1e3}}|{{-2}}|{{true}}')).toBe('a\tb|raw\\t|120|16|1000|-2|true');
  });
});

describe('pipelines and functions', () => {
  it('passes each result on as the last argument', () => {
    expect(run('{{.Name | printf "%s!"}}', container)).toBe('/web!');
    expect(run('{{.Config.Labels.app | upper | printf "%q"}}', container)).toBe('"SHOP"');
  });

  it('eq/ne/lt/le/gt/ge, and/or/not with Go\'s short-circuit and results', () => {
    expect(run('{{eq 1 2 3 1}} {{ne "a" "b"}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}')).toBe('true true true true true false');
    expect(run('{{and 1 0 "x"}}|{{and 1 "x"}}|{{or 0 "" "y"}}|{{or 0 ""}}|{{not 0}}')).toBe('0|x|y||true');
    expect(run('{{if and .A .A.B}}yes{{else}}no{{end}}', { A: null })).toBe('no');
    expect(run('{{eq .Config.Labels.none "x"}}', container)).toBe('false');
    expect(thrown(() => run('{{eq 1 "1"}}')).message).toMatch(/error calling eq: incompatible types for comparison/);
    expect(thrown(() => run('{{lt true false}}')).message).toMatch(/error calling lt: invalid type for comparison/);
  });

  it('len, index, slice', () => {
    expect(run('{{len .Args}} {{len .Config.Labels}} {{len "héllo"}}', container)).toBe('2 2 6');
    expect(run('{{index .Config.Labels "app"}}|{{index .Config.Labels "none"}}|{{index .Args 1}}', container)).toBe('shop||sleep 1');
    expect(run('{{index .M "a" 1}}', { M: { a: ['x', 'y'] } })).toBe('y');
    expect(run('{{slice .Args 1}} {{slice "abcdef" 1 3}}', container)).toBe('[sleep 1] bc');
    expect(thrown(() => run('{{index .Args 5}}', container)).message).toMatch(/error calling index: index out of range: 5/);
  });

  it('print, println, printf', () => {
    expect(run('{{print 1 2 "a" "b" 3}}')).toBe('1 2ab3');
    expect(run('{{println "a" 1}}')).toBe('a 1\n');
    expect(run('{{printf "%s|%d|%v|%q|%-6s|%6s|%05d|%x|%.2f|%t|%%" "s" 42 .A "q" "l" "r" 7 255 3.14159 true}}', { A: [1, 2] }))
      .toBe('s|42|[1 2]|"q"|l     |     r|00007|ff|3.14|true|%');
    expect(run('{{printf "%d %s" "x"}}')).toBe('%!d(string=x) %!s(MISSING)');
    expect(run('{{printf "%s" "a" 1}}')).toBe('a%!(EXTRA int=1)');
    expect(run('{{printf "%v" .Config.Labels.none}}', container)).toBe('<nil>');
  });
});

describe('Docker\'s functions', () => {
  it('json, join, split, lower, upper, title, truncate, pad', () => {
    expect(run('{{json .Config.Labels}}', container)).toBe('{"app":"shop","tier":"web"}');
    expect(run('{{json .State}}', container)).toBe('{"Status":"running","Running":true,"Pid":42,"ExitCode":0}');
    expect(run('{{json .None}}', { None: null })).toBe('null');
    expect(run('{{json "<a&b>"}}')).toBe('"<a&b>"');
    expect(run('{{join .Config.Env ","}}', container)).toBe('A=1,B=2');
    expect(run('{{split "a:b:c" ":"}} {{index (split .Name "/") 1}}', container)).toBe('[a b c] web');
    expect(run('{{lower "ABC"}} {{upper "abc"}} {{title "hello big-world it\'s"}}')).toBe("abc ABC Hello Big-World It'S");
    expect(run('{{truncate "abcdef" 3}}|{{truncate "ab" 3}}|{{pad "x" 1 2}}|{{pad "" 1 2}}')).toBe('abc|ab| x  |');
  });

  it('refuses arguments of the wrong type or count, as Go does', () => {
    expect(thrown(() => run('{{upper 5}}')).message).toBe('template: :1:8: executing "" at <5>: wrong type for value; expected string; got int');
    expect(thrown(() => run('{{upper .Config.Labels.none}}', container)).message).toMatch(/invalid value; expected string/);
    expect(thrown(() => run('{{join .Mounts ","}}', container)).message).toMatch(/wrong type for value; expected \[\]string; got \[\]interface \{\}/);
    expect(thrown(() => run('{{upper "a" "b"}}')).message).toMatch(/wrong number of args for upper: want 1 got 2/);
    expect(thrown(() => run('{{truncate "a" "b"}}')).message).toMatch(/expected int; got string/);
  });
});

describe('parse errors', () => {
  it.each([
    ['{{.Name', 'template: :1: unclosed action'],
    ['{{nosuch .Name}}', 'template: :1: function "nosuch" not defined'],
    ['{{if .A}}x', 'template: :1: unexpected EOF'],
    ['{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{$nope}}', 'template: :1: undefined variable "$nope"'],
    ['{{.A | 3}}', 'template: :1: non executable command in pipeline stage 2'],
    ['{{}}', 'template: :1: missing value for command'],
    ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
    ['{{define "x"}}{{end}}', 'template: :1: {{define}} is not supported'],
    ['{{"abc}}', 'template: :1: unterminated quoted string'],
    ['a\n{{(.A}}', 'template: :2: unclosed left paren'],
  ])('%j → %s', (src, message) => {
    const err = thrown(() => compile(src));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(message);
  });

  it('refuses arguments given to a non-function', () => {
    expect(thrown(() => run('{{"a" "b"}}')).message).toMatch(/can't give argument to non-function "a"/);
  });
});
