"""Typed view objects the templates place: every decision about the output is made here.

A :class:`ParamView` knows its Python name, its annotation and how its value is
adapted for a call, a batch row and a COPY row; a :class:`MakerView` knows how
each column of a result row loads; a :class:`QueryView` knows what its function returns and
which helpers its body calls. Expressions are composed from these parts (a
value expression wrapped in a dumper), never produced by editing code text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from multica_db_codegen.analyze.ir import Command as Command


def apply(fn: str | None, value: str, *, nullable: bool) -> str:
    """``fn(value)``; NULL (``None``) passes untouched when ``nullable``."""
    if fn is None:
        return value
    if nullable:
        return f"None if {value} is None else {fn}({value})"
    return f"{fn}({value})"


@dataclass(frozen=True, slots=True)
class ParamView:
    name: str  # the keyword argument (and the NamedTuple field of a parameter set)
    annotation: str  # with ``| None`` when NULL may be sent
    index: int  # position among the query's parameters ($N - 1)
    dumper: str | None  # what a non-NULL value goes through before psycopg sees it
    nullable: bool
    optional: bool  # sqlc.narg: may be left out (defaults to None)
    sends_text: bool = False  # the dumper gives the value's text form
    # what a call or a batch sends instead of the value psycopg would type by itself
    # (a list of ints: smallint[]); COPY gives psycopg the column types, so not there
    typed: str | None = None

    @property
    def default(self) -> str:
        return " = None" if self.optional else ""

    @property
    def call_arg(self) -> str:
        """The value sent for a direct call (the keyword argument)."""
        return apply(self.dumper or self.typed, self.name, nullable=self.nullable)

    @property
    def batch_arg(self) -> str:
        """The value sent for parameter set ``p`` (a NamedTuple or a plain tuple)."""
        return apply(self.dumper or self.typed, f"p[{self.index}]", nullable=self.nullable)

    @property
    def copy_arg(self) -> str:
        """The value written for COPY row ``row`` (a NamedTuple or a plain tuple)."""
        return apply(self.dumper, f"row[{self.index}]", nullable=self.nullable)


@dataclass(frozen=True, slots=True)
class FieldView:
    name: str
    annotation: str
    arbitrary: bool = False  # a type pydantic has no schema for (overrides, psycopg ranges)


@dataclass(slots=True)
class ModelView:
    """A class the module defines: a row model, or a parameter set's NamedTuple."""

    class_name: str
    doc: str
    fields: list[FieldView]
    named_tuple: bool = False

    @property
    def arbitrary(self) -> bool:
        return any(f.arbitrary for f in self.fields)

    @property
    def config(self) -> str:
        """The model's ``ConfigDict(…)`` arguments ("" for none): a field named ``model_…``
        (``model_name_``, ``model_dump_``) is in pydantic's protected namespaces (``model_``
        before 2.10, ``model_dump``/``model_validate`` since), which warns at import."""
        args = []
        if self.arbitrary:
            args.append("arbitrary_types_allowed=True")
        if any(f.name.startswith("model_") for f in self.fields):
            args.append("protected_namespaces=()")
        return ", ".join(args)


@dataclass(slots=True)
class MakerView:
    """A module-level function building a model from a result tuple (``_runtime.row_maker``)."""

    var: str
    cls: str
    fields: tuple[str, ...]
    loaders: list[tuple[int, str]]  # column position → loader of non-NULL values
    embeds: list[tuple[int, int, str, bool]] = field(default_factory=list)

    @property
    def fields_literal(self) -> str:
        return repr(self.fields)


@dataclass(slots=True)
class CodecView:
    """A composite type's text decoder (``cls`` set) or encoder, in the models module."""

    var: str
    cls: str
    fields: tuple[str, ...]
    converters: list[tuple[int, str]]
    factory: str
    nested: tuple[str, ...] = ()  # classes of the composites its fields hold: defined first
    encodes: str = ""  # an encoder's composite class

    @property
    def fields_literal(self) -> str:
        return repr(self.fields)


@dataclass(frozen=True, slots=True)
class ResultView:
    """What one result row becomes."""

    annotation: str  # the type of one row's value (``| None`` included for a nullable scalar)
    maker: str | None = None  # a MakerView var: the row is a model built by it
    loader: str | None = None  # a scalar's loader (None: the value is used as it is)
    nullable: bool = False  # a scalar that may be NULL

    @property
    def from_row(self) -> str:
        """The value of result tuple ``row``."""
        if self.maker is not None:
            return f"{self.maker}(row)"
        return apply(self.loader, "row[0]", nullable=self.nullable)


@dataclass(slots=True)
class QueryView:
    name: str  # the query's name as annotated
    func: str
    const: str
    cmd: Command
    doc: str
    sql_literal: str
    params: list[ParamView]
    result: ResultView | None
    guaranteed: bool  # :one that always returns a row
    params_class: str = ""  # parameter-set commands: the NamedTuple of one set
    copy_const: str = ""
    copy_sql: str = ""
    copy_types: str = ""  # copy: set_types([...]) argument, "" for text format
    copy_order: tuple[int, ...] = ()  # copy: the parameter feeding each COPY column
    uses_runtime: bool = False  # a parameter's dumper or a scalar's loader is a runtime helper
    uses_models: bool = False
    raw_json: bool = False  # the cursor loads json as text: the result decodes built JSON

    @property
    def raw_json_arg(self) -> str:
        """The keyword the runtime's cursor functions get for such a cursor."""
        return ", raw_json=True" if self.raw_json else ""

    @property
    def row_type(self) -> str:
        return self.result.annotation if self.result is not None else "None"

    def returns(self, *, is_async: bool) -> str:
        """The function's return annotation."""
        row = self.row_type
        match self.cmd:
            case Command.ONE:
                return row if self.guaranteed else f"{row} | None"
            case Command.MANY:
                return f"list[{row}]"
            case Command.ITER:
                return f"AsyncIterator[{row}]" if is_async else f"Iterator[{row}]"
            case Command.EXECROWS | Command.COPYFROM:
                return "int"
            case Command.EXECLASTID:
                if self.result is None:
                    return "None"
                return row if self.result.nullable else f"{row} | None"
            case Command.EXECRESULT:
                return "_runtime.ExecResult"
            case Command.BATCHONE:  # a nullable value here always has its row (see _result)
                nullable = self.result is not None and self.result.nullable
                return f"list[{row}]" if nullable else f"list[{row} | None]"
            case Command.BATCHMANY:
                return f"list[list[{row}]]"
            case _:
                return "None"

    @property
    def call_args(self) -> str:
        """The parameters tuple of a direct call."""
        if not self.params:
            return "None"
        return "(" + ", ".join(p.call_arg for p in self.params) + ",)"

    @property
    def set_annotation(self) -> str:
        """One parameter set: the NamedTuple, or a plain tuple in the same order."""
        plain = ", ".join(p.annotation for p in self.params) or "()"
        return f"{self.params_class} | tuple[{plain}]"

    @property
    def batch_sets(self) -> str:
        """What executemany gets for ``params``."""
        if all(p.dumper is None and p.typed is None for p in self.params):
            return "params"
        one = ", ".join(p.batch_arg for p in self.params)
        return f"[({one},) for p in params]"

    @property
    def batch_list(self) -> str:
        """``batch_sets`` as a list (read twice: emptiness, then executemany)."""
        sets = self.batch_sets
        # a comprehension already is a list: list([...]) is ruff's C411
        return "list(params)" if sets == "params" else sets

    @property
    def copy_row(self) -> str:
        """What COPY's write_row gets for ``row`` (columns in the COPY's order)."""
        in_order = self.copy_order == tuple(range(len(self.params)))
        if in_order and all(p.dumper is None for p in self.params):
            return "row"
        return "(" + ", ".join(self.params[i].copy_arg for i in self.copy_order) + ",)"

    @property
    def needs_runtime(self) -> bool:
        """Whether this function's body names ``_runtime``."""
        # every function but COPY and the pipelined batches runs on a cursor of the runtime's
        return self.uses_runtime or not self.cmd.takes_sets
