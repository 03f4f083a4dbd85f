"""Model instances from one fixed SQL statement, for the few reads that run on every request.

The ORM compiles a queryset into SQL on every evaluation; for a tiny fixed query (the session check of every
authenticated request, the active subscription of `/users/me`) that compilation costs several times the query
itself (docs/performance.md). `JoinedRowQuery` writes the statement once per database connection from the
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


class FixedValuesQuery(_FixedStatement):
    """`SELECT <the named fields of one model> FROM <its table> <tail>` as a list of dicts, like `.values(*names)`.

    The statement is written once per connection; each value goes through the converters the ORM's `.values()`
    would apply. `tail(quote_name)` has the `WHERE ... ORDER BY ... LIMIT ...` with `%s` placeholders.
    """

    def __init__(self, model: type[Model], names: Sequence[str], tail: Callable[[Callable[[str], str]], str]) -> None:
        super().__init__()
        self.model = model
        self.names = tuple(names)
        self.tail = tail

    def _prepare(self, connection: BaseDatabaseWrapper) -> _Prepared:
        quote = connection.ops.quote_name
        table = self.model._meta.db_table
        columns: list[str] = []
        converters: list[_Converter] = []
        for index, name in enumerate(self.names):
            field: Any = self.model._meta.get_field(name)  # a concrete field (get_field may answer a relation)
            columns.append(f"{quote(table)}.{quote(field.column)}")
            column = field.get_col(table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                converters.append((index, tuple(functions), column))
        sql = f"SELECT {', '.join(columns)} FROM {quote(table)} {self.tail(quote)}"  # noqa: S608 - model metadata only
        return _Prepared(sql, converters, [])

    def fetch(self, params: Sequence[tuple[Any, object]]) -> list[dict[str, Any]]:
        """The rows as dicts. A parameter with a field is prepared by it; with None it is passed as it is."""
        using = router.db_for_read(self.model)
        connection = connections[using]
        prepared = self.prepared_for(connection)
        values: list[Any] = [
            value if field is None else field.get_db_prep_value(value, connection, prepared=False)
            for field, value in params
        ]
        with connection.cursor() as cursor:
            cursor.execute(prepared.sql, values)
            rows = cursor.fetchall()
        names, converters = self.names, prepared.converters
        if not converters:
            return [dict(zip(names, row, strict=True)) for row in rows]
        return [dict(zip(names, _converted(row, converters, connection), strict=True)) for row in rows]
