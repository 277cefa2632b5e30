"""Rewrites of the shipped MiniLM ONNX graph that keep its arithmetic and drop wasted work.

The pinned file is a torch.export of all-MiniLM-L6-v2 with int8 *storage*: each weight is an int8 tensor
times a per-column scale, which onnxruntime folds into float32 weights when the session is built, so the
model runs in float32 either way. Profiling it (batches of 8 chunks of ~256 tokens, 2 threads) showed a
third of the time outside the matrix products, in work the export added:

- the attention mask is built as a (batch, 1, seq, seq) float tensor (the keys' padding repeated for every
  query position) that every layer adds to its scores: seq times the (batch, 1, 1, seq) it holds, read
  six times. Built at (batch, 1, 1, seq) from `attention_mask` here, with the same values (0 or float32's
  lowest), so every score gets the same addition as before;
- every softmax is followed by `Where(IsNaN(p), 0, p)`, a guard for rows that are masked entirely (a
  softmax over -inf alone). The mask here is float32's lowest, not -inf, so no row is ever NaN: the guard
  is an identity and is dropped;
- GELU is spelled out as `x * 0.5 * (1 + erf(x / sqrt 2))` (five passes over the widest tensor), fused
  into onnxruntime's `Gelu` (the same formula in one pass).

Each rewrite checks the exact shape it expects (ops, constants, counts per layer); if the graph is not
that shape the caller gets None and runs the file as shipped. The vectors stay the ones stored before
(tests compare both sessions and the reference vectors), so nothing has to be re-embedded.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import onnx
from onnx import helper, numpy_helper

LAYERS = 6  # all-MiniLM-L6-v2
_FLOAT32_LOWEST = float(np.finfo(np.float32).min)
_MASK_AXES = "streamlined_mask_axes"
_MASK = "streamlined_additive_mask"


class _Graph:
    """Lookups over a graph's nodes: producer by output name, consumers by input name, constants."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.constants = {init.name: init for init in graph.initializer}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in graph.node:
            for name in node.output:
                self.producer[name] = node
            for name in node.input:
                self.consumers[name].append(node)

    def scalar(self, name: str) -> float | None:
        """The value of a one-element float constant, or None if `name` is not one."""
        init = self.constants.get(name)
        if init is None:
            return None
        value = numpy_helper.to_array(init)
        if value.size != 1 or value.dtype.kind != "f":
            return None
        return float(value.reshape(-1)[0])

    def made_by(self, name: str, op_type: str) -> onnx.NodeProto | None:
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None


def streamline(model: bytes) -> bytes | None:
    """The model with the rewrites above, serialised; None if the graph is not the shape they expect."""
    proto = onnx.load_from_string(model)
    graph = _Graph(proto.graph)
    mask = _mask_rewrite(graph)
    guards = _nan_guards(graph)
    gelus = _gelus(graph)
    if mask is None or guards is None or gelus is None:
        return None
    mask_nodes, mask_outputs = mask
    renamed = {**mask_outputs, **guards[1]}
    dropped = {id(node) for node in guards[0]} | {id(graph.producer[name]) for name in mask_outputs}
    replaced = {id(first): fused for first, fused in gelus[1]}
    dropped |= {id(node) for node in gelus[0]}
    nodes: list[onnx.NodeProto] = list(mask_nodes)
    for node in proto.graph.node:
        if id(node) in replaced:
            nodes.append(replaced[id(node)])
            continue
        if id(node) in dropped:
            continue
        for i, name in enumerate(node.input):
            if name in renamed:
                node.input[i] = renamed[name]
        nodes.append(node)
    live = _live(nodes, {output.name for output in proto.graph.output})
    read = {name for node in live for name in node.input}
    unread = [init for init in proto.graph.initializer if init.name not in read]
    for init in unread:  # the constants of the mask's old construction
        proto.graph.initializer.remove(init)
    del proto.graph.node[:]
    proto.graph.node.extend(live)
    proto.graph.initializer.append(numpy_helper.from_array(np.array([1, 2], dtype=np.int64), _MASK_AXES))
    if not any(opset.domain == "com.microsoft" for opset in proto.opset_import):
        proto.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    serialised: bytes = proto.SerializeToString()
    return serialised


def _mask_rewrite(graph: _Graph) -> tuple[list[onnx.NodeProto], dict[str, str]] | None:
    """The nodes that build the (batch, 1, 1, seq) additive mask once, and the per-layer masks it replaces.

    Expects one `Where(cond, 0, lowest)` whose condition is an `And` over a `GatherND` of
    `Cast(attention_mask, bool)`: the padding mask of the keys (the other operand, the query positions
    `arange(seq) >= 0`, is all true).
    """
    wheres = [
        node
        for node in graph.graph.node
        if node.op_type == "Where"
        and graph.scalar(node.input[1]) == 0.0
        and graph.scalar(node.input[2]) == _FLOAT32_LOWEST
        and graph.made_by(node.input[0], "And") is not None
    ]
    if len(wheres) != 1:
        return None
    condition = graph.producer[wheres[0].input[0]]
    gathers = [graph.made_by(name, "GatherND") for name in condition.input]
    gather = next((node for node in gathers if node is not None), None)
    cast = graph.made_by(gather.input[0], "Cast") if gather is not None else None
    if cast is None or list(cast.input) != ["attention_mask"] or _attribute(cast, "to") != onnx.TensorProto.BOOL:
        return None
    zero, lowest = wheres[0].input[1], wheres[0].input[2]
    nodes = [
        helper.make_node("Cast", ["attention_mask"], ["streamlined_mask_bool"], to=onnx.TensorProto.BOOL),
        helper.make_node("Unsqueeze", ["streamlined_mask_bool", _MASK_AXES], ["streamlined_mask_4d"]),
        helper.make_node("Where", ["streamlined_mask_4d", zero, lowest], [_MASK]),
    ]
    return nodes, {node.output[0]: _MASK for node in wheres}


def _nan_guards(graph: _Graph) -> tuple[list[onnx.NodeProto], dict[str, str]] | None:
    """The `IsNaN` + `Where` after each softmax (dropped), and the renames that bypass them."""
    dropped: list[onnx.NodeProto] = []
    renamed: dict[str, str] = {}
    for softmax in graph.graph.node:
        if softmax.op_type != "Softmax":
            continue
        probabilities = softmax.output[0]
        users = graph.consumers[probabilities]
        isnan = next((node for node in users if node.op_type == "IsNaN"), None)
        where = next((node for node in users if node.op_type == "Where"), None)
        if (
            len(users) != 2
            or isnan is None
            or where is None
            or list(where.input) != [isnan.output[0], where.input[1], probabilities]
            or graph.scalar(where.input[1]) != 0.0
            or len(graph.consumers[isnan.output[0]]) != 1
        ):
            return None
        dropped += [isnan, where]
        renamed[where.output[0]] = probabilities
    return (dropped, renamed) if len(renamed) == LAYERS else None


def _gelus(graph: _Graph) -> tuple[list[onnx.NodeProto], list[tuple[onnx.NodeProto, onnx.NodeProto]]] | None:
    """Each `x * (0.5 * (1 + erf(x / sqrt 2)))` chain, and the `Gelu` node that replaces its first node."""
    dropped: list[onnx.NodeProto] = []
    fused: list[tuple[onnx.NodeProto, onnx.NodeProto]] = []
    for erf in graph.graph.node:
        if erf.op_type != "Erf":
            continue
        div = graph.made_by(erf.input[0], "Div")
        add = _only_user(graph, erf.output[0], "Add")
        half = _only_user(graph, add.output[0], "Mul") if add is not None else None
        last = _only_user(graph, half.output[0], "Mul") if half is not None else None
        if div is None or add is None or half is None or last is None:
            return None
        x = div.input[0]
        if (
            not _close(graph.scalar(div.input[1]), math.sqrt(2.0))
            or graph.scalar(_other(add, erf.output[0])) != 1.0
            or graph.scalar(_other(half, add.output[0])) != 0.5
            or _other(last, half.output[0]) != x
            or len(graph.consumers[div.output[0]]) != 1
        ):
            return None
        gelu = helper.make_node("Gelu", [x], [last.output[0]], domain="com.microsoft", name=f"{erf.name}_gelu")
        fused.append((div, gelu))
        dropped += [erf, add, half, last]
    return (dropped, fused) if len(fused) == LAYERS else None


def _only_user(graph: _Graph, name: str, op_type: str) -> onnx.NodeProto | None:
    users = graph.consumers[name]
    return users[0] if len(users) == 1 and users[0].op_type == op_type else None


def _other(node: onnx.NodeProto, name: str) -> str:
    """The input of a two-input node that is not `name` (`name` itself if both are)."""
    first, second = (str(input_name) for input_name in node.input)
    return second if first == name else first


def _close(value: float | None, expected: float) -> bool:
    return value is not None and abs(value - expected) <= 1e-6 * expected


def _attribute(node: onnx.NodeProto, name: str) -> object:
    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), None)


def _live(nodes: list[onnx.NodeProto], outputs: Iterable[str]) -> list[onnx.NodeProto]:
    """`nodes` without those whose outputs nothing reads (the mask's old construction), in order."""
    needed = set(outputs)
    kept: list[onnx.NodeProto] = []
    for node in reversed(nodes):
        if any(name in needed for name in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    return kept[::-1]


__all__ = ["streamline"]
