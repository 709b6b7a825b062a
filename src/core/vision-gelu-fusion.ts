/**
 * Finds tanh-approximated GELU written out in elementwise ops and plans com.microsoft.FastGelu nodes
 * for them (vision-graph-rewrite.ts). onnxruntime's FastGelu fusion does not recognise the order in
 * which these exports write it, so each of its five Muls, two Adds and the Tanh is a pass over the
 * [S, 4 * hidden] MLP activations.
 *
 *   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
 *
 * with x^3 as Mul(Mul(x, x), x), Mul(x, Mul(x, x)) or Pow(x, 3), either operand order, and the 0.5
 * applied to x, to the gate or to their product.
 */
import { onnx, type NodeProto } from './onnx-file.js';
import { GraphIndex } from './onnx-graph-index.js';
import { MS_DOMAIN } from './vision-attention-fusion.js';

export interface GeluMatch {
  x: string;
  /** The node whose output FastGelu makes instead. */
  anchor: NodeProto;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function near(value: number | undefined, expected: number): boolean {
  return value !== undefined && Math.abs(value - expected) <= 1e-4 * Math.abs(expected);
}

/** For a binary op node, the other input when one input is the scalar constant `c`. */
function otherThanConstant(g: GraphIndex, node: NodeProto | undefined, c: number): string | undefined {
  if (!node || node.input.length !== 2) return undefined;
  if (near(g.scalar(node.input[1]), c)) return node.input[0];
  if (near(g.scalar(node.input[0]), c)) return node.input[1];
  return undefined;
}

/** The other input of a binary node when one of its inputs is `known`. */
function otherThan(node: NodeProto | undefined, known: string): string | undefined {
  if (!node || node.input.length !== 2) return undefined;
  if (node.input[0] === known) return node.input[1];
  if (node.input[1] === known) return node.input[0];
  return undefined;
}

/** Whether `tensor` is x^3 of `x`. */
function isCube(g: GraphIndex, tensor: string, x: string): boolean {
  const pow = g.made(tensor, 'Pow');
  if (pow) return pow.input[0] === x && near(g.scalar(pow.input[1]), 3);
  const mul = g.made(tensor, 'Mul');
  const other = otherThan(mul, x);
  const square = g.made(other, 'Mul');
  return other !== undefined && square !== undefined && square.input[0] === x && square.input[1] === x;
}

/** x when `inner` is x + 0.044715 * x^3. */
function cubicInput(g: GraphIndex, inner: string): string | undefined {
  const add = g.made(inner, 'Add');
  if (!add || !g.private(inner)) return undefined;
  for (const [xi, ci] of [[0, 1], [1, 0]] as const) {
    const x = add.input[xi]!;
    const cube = otherThanConstant(g, g.made(add.input[ci], 'Mul'), 0.044715);
    if (cube !== undefined && isCube(g, cube, x)) return x;
  }
  return undefined;
}

/** The single consumer of `tensor` when it is a `opType` node. */
function onlyConsumer(g: GraphIndex, tensor: string, opType: string): NodeProto | undefined {
  const node = g.consumers.get(tensor)?.[0];
  return node && g.private(tensor) && node.opType === opType && !node.domain ? node : undefined;
}

/** The node producing 0.5 * x * gate from the gate `1 + tanh(...)`. */
function geluOutput(g: GraphIndex, gate: string, x: string): NodeProto | undefined {
  const mul = onlyConsumer(g, gate, 'Mul');
  const other = otherThan(mul, gate);
  if (!mul || other === undefined) return undefined;
  if (otherThanConstant(g, g.made(other, 'Mul'), 0.5) === x && g.private(other)) return mul; // (x * 0.5) * gate
  const next = onlyConsumer(g, mul.output[0]!, 'Mul');
  if (other === x && near(g.scalar(otherThan(next, mul.output[0]!)), 0.5)) return next; // (x * gate) * 0.5
  if (near(g.scalar(other), 0.5) && otherThan(next, mul.output[0]!) === x) return next; // (gate * 0.5) * x
  return undefined;
}

/** The GELU around `tanh`, or undefined when it is not the pattern above. */
export function matchGelu(g: GraphIndex, tanh: NodeProto): GeluMatch | undefined {
  if (tanh.domain || tanh.opType !== 'Tanh') return undefined;
  const scaled = g.made(tanh.input[0], 'Mul');
  const inner = otherThanConstant(g, scaled, SQRT_2_OVER_PI);
  if (!scaled || inner === undefined || !g.private(tanh.input[0]!)) return undefined;
  const x = cubicInput(g, inner);
  const gateAdd = onlyConsumer(g, tanh.output[0]!, 'Add');
  if (x === undefined || !gateAdd || !near(g.scalar(otherThan(gateAdd, tanh.output[0]!)), 1)) return undefined;
  const anchor = geluOutput(g, gateAdd.output[0]!, x);
  return anchor && { x, anchor };
}

export function geluNode(match: GeluMatch, name: string): NodeProto {
  return onnx.NodeProto.create({ name, opType: 'FastGelu', domain: MS_DOMAIN, input: [match.x], output: [...match.anchor.output] });
}
