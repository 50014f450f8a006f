"""Parser: tokens to :mod:`polytc.frontend.ast` nodes (recursive descent).

Accepts one or more ``def``s, or (a polytc extension) bare statements with no
``def`` around them.  Precedence, low to high: ``?:``, ``||``, ``&&``,
comparisons, ``+ -``, ``* / %``, unary ``- !``.

Expression trees are at most :data:`MAX_DEPTH` levels deep, of which at most
:data:`MAX_NESTING` are parentheses, calls, ternaries or unary operators (the
parser recurses on those), and integer literals stay below 2**63: anything
beyond is refused with a :class:`TcSyntaxError`, so no stage runs out of
Python stack or overflows isl's integers.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from polytc.errors import Span, TcSyntaxError
from polytc.frontend import ast
from polytc.frontend.lexer import SCALAR_TYPES, Token, tokenize

_ASSIGN_OPS = {"=": ("=", False), "+=": ("+=", False), "*=": ("*=", False),
               "max=": ("max=", False), "min=": ("min=", False),
               "+=!": ("+=", True), "*=!": ("*=", True),
               "max=!": ("max=", True), "min=!": ("min=", True)}
T = TypeVar("T")
_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",), ("&&",), ("==", "!=", "<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))
_PRECEDENCE = {op: level for level, ops in enumerate(_BINARY_LEVELS) for op in ops}
#: the deepest expression tree accepted (every stage after the parser recurses on trees)
MAX_DEPTH = 200
MAX_NESTING = 100
_MAX_INT = 2 ** 63 - 1


def parse(source: str) -> tuple[ast.Def, ...]:
    """Parse TC text into its defs; bare statements become one def named ``kernel``."""
    return _Parser(source).parse_file()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0
        self.nesting = 0

    # -- token helpers -------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, text: str) -> bool:
        return self.tok.kind in ("op", "keyword") and self.tok.text == text

    def advance(self) -> Token:
        token = self.tok
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def error(self, expected: str, token: Token | None = None) -> TcSyntaxError:
        token = token or self.tok
        found = "end of input" if token.kind == "eof" else repr(token.text)
        return TcSyntaxError(f"expected {expected} but found {found}", token.span, self.source)

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.error(f"'{text}'")
        return self.advance()

    def ident(self, what: str = "an identifier") -> ast.Ident:
        if self.tok.kind != "ident":
            raise self.error(what)
        token = self.advance()
        return ast.Ident(token.text, token.span)

    def integer(self, token: Token) -> int:
        digits = token.text.lstrip("0")
        if len(digits) > 19 or int(digits or "0") > _MAX_INT:
            raise TcSyntaxError(f"integer literal {token.text[:24]}{'...' if len(token.text) > 24 else ''} "
                                "is too large (integers must be below 2**63)", token.span,
                                self.source)
        return int(digits or "0")

    def span_from(self, start: Span) -> Span:
        return Span(start.start, self.tokens[self.pos - 1].span.end)

    # -- file, defs ----------------------------------------------------
    def parse_file(self) -> tuple[ast.Def, ...]:
        if self.tok.kind == "eof":
            raise TcSyntaxError("empty TC text: expected a def or a statement",
                                self.tok.span, self.source)
        if not self.at("def"):
            return (self.parse_bare(),)
        defs = []
        while self.tok.kind != "eof":
            if not self.at("def"):
                raise self.error("'def' or end of input")
            defs.append(self.parse_def())
        return tuple(defs)

    def parse_bare(self) -> ast.Def:
        start = self.tok.span
        statements = []
        while self.tok.kind != "eof":
            statements.append(self.parse_statement())
        span = self.span_from(start)
        return ast.Def(ast.Ident("kernel", Span(start.start, start.start)), (), (),
                       tuple(statements), span, bare=True)

    def parse_def(self) -> ast.Def:
        start = self.expect("def").span
        name = self.ident("a def name")
        params = self.comma_list("(", ")", self.parse_param)
        self.expect("->")
        returns_start = self.tok.span
        returns = self.comma_list("(", ")", self.parse_return)
        returns_span = self.span_from(returns_start)
        self.expect("{")
        statements = []
        while not self.at("}"):
            if self.tok.kind == "eof":
                raise self.error("'}' to close the def")
            statements.append(self.parse_statement())
        self.expect("}")
        return ast.Def(name, tuple(params), tuple(returns), tuple(statements),
                       self.span_from(start), returns_span=returns_span)

    def comma_list(self, open_: str, close: str, item: Callable[[], T]) -> list[T]:
        self.expect(open_)
        items = []
        if not self.at(close):
            items.append(item())
            while self.at(","):
                self.advance()
                items.append(item())
        self.expect(close)
        return items

    def parse_type(self) -> ast.TensorType:
        if not (self.tok.kind == "keyword" and self.tok.text in SCALAR_TYPES):
            raise self.error("a type such as float(M,N)")
        token = self.advance()
        dims: tuple[ast.Dim, ...] = ()
        if self.at("("):
            dims = tuple(self.comma_list("(", ")", self.parse_dim))
        return ast.TensorType(token.text, dims, self.span_from(token.span))

    def parse_dim(self) -> ast.Dim:
        token = self.tok
        if token.kind == "ident":
            self.advance()
            return ast.Dim(token.text, None, token.span)
        if token.kind == "number" and token.text.isdigit():
            self.advance()
            return ast.Dim(None, self.integer(token), token.span)
        raise self.error("a size name or an integer extent")

    def parse_param(self) -> ast.Param:
        type_ = self.parse_type()
        return ast.Param(type_, self.ident("a parameter name"))

    def parse_return(self) -> ast.Return:
        if self.tok.kind == "keyword" and self.tok.text in SCALAR_TYPES:
            type_ = self.parse_type()
            return ast.Return(self.ident("an output name"), type_)
        return ast.Return(self.ident("an output name"), None)

    # -- statements ------------------------------------------------------
    def parse_statement(self) -> ast.Statement:
        lhs = self.ident("a tensor name to assign to")
        indices: list[ast.Ident] = []
        if self.at("("):
            indices = self.comma_list("(", ")", self.parse_lhs_index)
        seen: dict[str, ast.Ident] = {}
        for index in indices:
            if index.name in seen:
                raise TcSyntaxError(f"index '{index.name}' appears twice on the left-hand side",
                                    index.span, self.source)
            seen[index.name] = index
        if not (self.tok.kind == "op" and self.tok.text in _ASSIGN_OPS):
            raise self.error("an assignment operator (=, +=, *=, max=, min=, or with !)")
        op_token = self.advance()
        op, init = _ASSIGN_OPS[op_token.text]
        rhs = self.parse_expr()
        if self.at("<=>"):  # TC's 'equivalent' annotation: parsed, ignored.
            self.advance()
            self.ident()
            self.comma_list("(", ")", self.parse_expr)
        where: list[ast.WhereClause] = []
        if self.at("where"):
            self.advance()
            where.append(self.parse_where())
            while self.at(","):
                self.advance()
                where.append(self.parse_where())
        return ast.Statement(lhs, tuple(indices), op, init, rhs, tuple(where),
                             self.span_from(lhs.span), op_token.span)

    def parse_lhs_index(self) -> ast.Ident:
        if self.tok.kind != "ident":
            raise self.error("an index name (left-hand side subscripts are plain indices)")
        index = self.ident()
        if not (self.at(",") or self.at(")")):
            raise TcSyntaxError("left-hand side subscripts must be plain index names",
                                self.tok.span, self.source)
        return index

    def parse_where(self) -> ast.WhereClause:
        start = self.tok.span
        if self.at("exists"):
            self.advance()
            expr = self.parse_expr()
            return ast.ExistsClause(expr, self.span_from(start))
        if self.tok.kind == "ident" and self.peek().kind in ("op", "keyword") \
                and self.peek().text in ("in", "="):
            name = self.ident()
            if self.at("in"):
                self.advance()
                lo = self.parse_expr()
                self.expect(":")
                hi = self.parse_expr()
                return ast.RangeClause(name, lo, hi, self.span_from(start))
            self.advance()
            return ast.LetClause(name, self.parse_expr(), self.span_from(start))
        if self.tok.kind == "eof" or self.at(","):
            raise self.error("a where clause ('i in 0:N', 'j <= i', 'x = ...' or 'exists ...')")
        return ast.ConditionClause(self.parse_expr(), self.span_from(start))

    # -- expressions -----------------------------------------------------
    def parse_expr(self) -> ast.Expr:
        start = self.tok
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise TcSyntaxError(f"expression nested too deeply (more than {MAX_NESTING} "
                                "levels of parentheses, calls and operators)", start.span,
                                self.source)
        try:
            expr = self.parse_binary(0)
            if self.at("?"):
                self.advance()
                then = self.parse_expr()
                self.expect(":")
                other = self.parse_expr()
                expr = ast.Ternary(expr, then, other, expr.span.to(other.span))
            return _checked_depth(expr, self.source) if self.nesting == 1 else expr
        finally:
            self.nesting -= 1

    def parse_binary(self, level: int) -> ast.Expr:
        """Operators of precedence ``level`` or higher, left-associative
        (precedence climbing: one frame per level actually used)."""
        lhs = self.parse_unary()
        while self.tok.kind == "op" and _PRECEDENCE.get(self.tok.text, -1) >= level:
            op = self.advance().text
            rhs = self.parse_binary(_PRECEDENCE[op] + 1)
            lhs = ast.Binary(op, lhs, rhs, lhs.span.to(rhs.span))
        return lhs

    def parse_unary(self) -> ast.Expr:
        if self.at("-") or self.at("!"):
            token = self.advance()
            self.nesting += 1
            if self.nesting > MAX_NESTING:
                raise TcSyntaxError(f"expression nested too deeply (more than {MAX_NESTING} "
                                    "levels of parentheses, calls and operators)", token.span,
                                    self.source)
            try:
                arg = self.parse_unary()
            finally:
                self.nesting -= 1
            return ast.Unary(token.text, arg, token.span.to(arg.span))
        return self.parse_primary()

    def parse_primary(self) -> ast.Expr:
        token = self.tok
        if token.kind == "number":
            self.advance()
            is_float = any(c in token.text for c in ".eE")
            value: int | float = float(token.text) if is_float else self.integer(token)
            return ast.Number(value, is_float, token.span)
        if self.at("("):
            self.advance()
            inner = self.parse_expr()
            self.expect(")")
            return inner
        if token.kind == "keyword" and token.text in SCALAR_TYPES:
            self.advance()
            self.expect("(")
            arg = self.parse_expr()
            self.expect(")")
            return ast.Cast(token.text, arg, self.span_from(token.span))
        if token.kind == "keyword" and token.text in ("min", "max"):
            self.advance()
            args = self.comma_list("(", ")", self.parse_expr)
            return ast.Apply(ast.Ident(token.text, token.span), tuple(args),
                             self.span_from(token.span))
        if token.kind == "ident":
            name = self.ident()
            if self.at("("):
                args = self.comma_list("(", ")", self.parse_expr)
                return ast.Apply(name, tuple(args), self.span_from(name.span))
            if self.at(".") and self.peek().kind == "number" and self.peek().text.isdigit():
                self.advance()
                dim = self.integer(self.advance())
                return ast.Extent(name, dim, self.span_from(name.span))
            return name
        raise self.error("an expression")


def _checked_depth(expr: ast.Expr, source: str) -> ast.Expr:
    """``expr``, unless its tree is deeper than :data:`MAX_DEPTH` (long
    operator chains such as ``a + a + ... + a`` nest without recursion here)."""
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TcSyntaxError(f"expression nested too deeply (more than {MAX_DEPTH} levels; "
                                "split it with a temporary tensor)", node.span, source)
        stack.extend((child, depth + 1) for child in ast.children(node))
    return expr
