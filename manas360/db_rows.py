"""Model instances from one fixed SQL statement, for the two reads that run on every signed-in request.

The ORM compiles a queryset into SQL on every evaluation; for a tiny fixed query (the session check of every
authenticated request, the active subscription of `/users/me` and the signed-in catalogue) that compilation
costs more than the query itself: measured, it is most of those requests' CPU (docs/performance.md,
"Decisions"). `JoinedRowQuery` writes the statement once per database connection from the
models' own metadata (table and column names, every concrete field in model order, names quoted by the
backend), converts each value with exactly the converters the ORM would apply (the backend's and the field's
`from_db_value`), and builds the instances with `Model.from_db`, as a queryset does: the instances are full
rows, indistinguishable from what `.select_related(...).filter(...).first()` returns. Parameters are prepared
by their model field (`get_db_prep_value`), exactly as the ORM prepares them.
"""

import abc
import weakref
from collections.abc import Callable, Sequence
from typing import Any, cast

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

# (row index, converter functions, column expression): how one column's raw value becomes the ORM's value.
_Converter = tuple[int, tuple[Callable[..., Any], ...], Any]
# (model, start, stop, attnames, index of the pk column when the model is optional): one instance's columns.
_Slice = tuple[type[Model], int, int, list[str], int | None]


class _Prepared:
    __slots__ = ("converters", "slices", "sql")

    def __init__(self, sql: str, converters: list[_Converter], slices: list[_Slice]) -> None:
        self.sql = sql
        self.converters = converters
        self.slices = slices


def _converted(raw: Sequence[Any], converters: list[_Converter], connection: BaseDatabaseWrapper) -> list[Any]:
    """One row's values after the converters the ORM would apply to them."""
    row = list(raw)
    for index, functions, column in converters:
        value = row[index]
        for function in functions:
            value = function(value, column, connection)
        row[index] = value
    return row


class _FixedStatement(abc.ABC):
    """A statement written once per database connection (`_prepare`), from model metadata only."""

    def __init__(self) -> None:
        self._prepared: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Prepared] = weakref.WeakKeyDictionary()

    @abc.abstractmethod
    def _prepare(self, connection: BaseDatabaseWrapper) -> _Prepared:
        """The statement, its converters and (for joined rows) each model's columns, for this connection."""

    def prepared_for(self, connection: BaseDatabaseWrapper) -> _Prepared:
        prepared = self._prepared.get(connection)
        if prepared is None:
            prepared = self._prepared[connection] = self._prepare(connection)
        return prepared


class JoinedRowQuery(_FixedStatement):
    """`SELECT <every concrete column of each (model, alias)> <tail>`, returning one instance per model.

    `tail(quote_name)` returns the rest of the statement (`FROM ... JOIN ... WHERE ...`) with `%s` placeholders;
    build it from `Model._meta.db_table` and `field.column`, never from user input. Models named in `optional`
    (aliases) come from a LEFT JOIN: when their primary key is NULL the result holds None for them.
    """

    def __init__(
        self,
        models: Sequence[tuple[type[Model], str]],
        tail: Callable[[Callable[[str], str]], str],
        *,
        optional: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.models = tuple(models)
        self.optional = frozenset(optional)
        self.tail = tail

    def _prepare(self, connection: BaseDatabaseWrapper) -> _Prepared:
        quote = connection.ops.quote_name
        columns: list[str] = []
        converters: list[_Converter] = []
        slices: list[_Slice] = []
        for model, alias in self.models:
            start = len(columns)
            fields = model._meta.concrete_fields
            for field in fields:
                columns.append(f"{quote(alias)}.{quote(cast(str, field.column))}")  # concrete: never None
                column = field.get_col(alias)
                functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if functions:
                    converters.append((len(columns) - 1, tuple(functions), column))
            pk_index = start + list(fields).index(model._meta.pk) if alias in self.optional else None
            slices.append((model, start, len(columns), [field.attname for field in fields], pk_index))
        sql = f"SELECT {', '.join(columns)} {self.tail(quote)}"
        return _Prepared(sql, converters, slices)

    def fetch_one(self, params: Sequence[tuple[Any, object]]) -> tuple[Any, ...] | None:
        """The first row's instances, or None. Each parameter is prepared by the field it is compared with."""
        using = router.db_for_read(self.models[0][0])
        connection = connections[using]
        prepared = self.prepared_for(connection)
        values = [field.get_db_prep_value(value, connection, prepared=False) for field, value in params]
        with connection.cursor() as cursor:
            cursor.execute(prepared.sql, values)
            row = cursor.fetchone()
        if row is None:
            return None
        row = _converted(row, prepared.converters, connection)
        return tuple(
            None if pk_index is not None and row[pk_index] is None else model.from_db(using, attnames, row[start:stop])
            for model, start, stop, attnames, pk_index in prepared.slices
        )
