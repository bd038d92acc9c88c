"""Inserting many rows fast: PostgreSQL's COPY there, `bulk_create` elsewhere.

The demo writes about 1.4 million rows at 100,000 patients, and an EHR import 500,000 for a practice
that size. Building a model instance per row and preparing every field through the ORM cost more than
the rest of either run together, so on PostgreSQL rows go straight to COPY (with ids taken from the
table's sequence first, when the caller needs them). Values must be what the database stores: folded
names and E.164 phone numbers included (`bulk_create`, used elsewhere, computes the folded names).
A table that COPY has at least doubled since it was last analyzed is analyzed at once (see
`_statistics_keep_up`); `gin_batched` lets a large load fill a trigram index in one merge.
Rows are plain dicts of database-ready values keyed by attribute name (`patient_id`, not `patient`);
fields left out get the model's default. Python's cycle collector is paused for such a load (`gc_paused`).
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import JSONField, Model, Value
from django.utils import timezone

BATCH_SIZE = 5_000
# Up to this many rows, one INSERT (or one UPDATE a row) is cheaper than COPY's three round trips or
# bulk_update's CASE per field: what an HL7 message or a staff action writes.
FEW = 20


def insert(model: type[Model], rows: list[dict], *, ids: bool = False) -> list[int]:
    """Insert `rows` into `model`'s table; return their ids, in order, if `ids`."""
    if not rows:
        return []
    if connection.vendor == "postgresql" and len(rows) > FEW:
        return _copy(model, rows, ids=ids)
    objects = [model(**row) for row in rows]
    model._default_manager.bulk_create(objects, batch_size=BATCH_SIZE)
    return [obj.pk for obj in objects] if ids else []


def update(model: type[Model], objects: list[Model], fields: list[str]) -> None:
    """Save `fields` of `objects`: an UPDATE each for a few, else `bulk_update`.

    Either way the values saved are those assigned: an E.164 string stays a string, where reading
    the attribute would parse the phone number again (`PhoneField`), once more per number imported.
    """
    model_fields = [model._meta.get_field(name) for name in fields]
    if len(objects) > FEW:
        # bulk_update reads each attribute unless it is already an expression: hand it the values.
        assigned = [dict(obj.__dict__) for obj in objects]
        for obj in objects:
            for field in model_fields:
                if field.attname in obj.__dict__:
                    obj.__dict__[field.attname] = Value(obj.__dict__[field.attname], output_field=field)
        try:
            model._default_manager.bulk_update(objects, fields, batch_size=500)
        finally:
            for obj, state in zip(objects, assigned, strict=True):
                obj.__dict__.update(state)
        return
    attnames = [field.attname for field in model_fields]
    for obj in objects:
        values = {a: obj.__dict__[a] if a in obj.__dict__ else getattr(obj, a) for a in attnames}
        model._default_manager.filter(pk=obj.pk).update(**values)


def _copy(model: type[Model], rows: list[dict], *, ids: bool) -> list[int]:
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key and not f.generated]
    # (attname, default) in column order: one list per row, no dict merged per row.
    pairs = [(f.attname, _default(f)) for f in fields]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
    columns = [f.column for f in fields]
    pks = _ids_reserve(meta.db_table, meta.pk.column, len(rows)) if ids else []
    if ids:
        columns.insert(0, meta.pk.column)
    quote = connection.ops.quote_name
    sql = f"COPY {quote(meta.db_table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for i, row in enumerate(rows):
            values = [row.get(attname, default) for attname, default in pairs]
            for at in json_at:
                values[at] = fields[at].get_db_prep_save(values[at], connection)
            if ids:
                values.insert(0, pks[i])
            copy.write_row(values)
    _statistics_keep_up(meta.db_table)
    return pks


def _statistics_keep_up(table: str) -> None:
    """ANALYZE `table` if it has at least doubled (in pages) since it was last analyzed.

    The plans PostgreSQL caches for foreign-key checks (one lookup per inserted row) are made from the
    statistics of the tables they read, and only ANALYZE makes them again. Without autovacuum (this
    machine's PostgreSQL) a table filled from empty keeps the statistics of an empty table, every
    check scans the whole referenced table, and the seed grows quadratically: 20,000 patients took
    243 s here, against 78 s with ANALYZE between chunks. Analyzing right after the COPY that grew the
    table also fixes the checks that read it in the same chunk. Only while the table is small against
    what is added: once it holds thousands of rows its checks are index lookups that stay right, so a
    100,000-patient seed analyzes each table about six times (a fraction of a second each).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(oid) / current_setting('block_size')::int >= 2 * relpages"
            " FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        (grown,) = cursor.fetchone()
        if grown:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


@contextmanager
def gin_batched(model: type[Model]) -> Iterator[None]:
    """Let `model`'s GIN indexes made with `fastupdate = off` take the rows added inside as one merge.

    Such an index (the patients' trigram index: searches then read no pending list) files each new
    row's trigrams one by one: 100,000 patients took 6.4 s in that index alone, against 0.6 s through
    the pending list, which is merged sorted. Inside one transaction, so a run that fails or is killed
    leaves the option as it was; the list is emptied before the option is restored, so no search ever
    reads it. The ALTER locks the index until commit: for loads nobody searches during (the demo). An
    index the connection's role does not own is left alone.
    """
    if connection.vendor != "postgresql":
        yield
        return
    quote = connection.ops.quote_name
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = %s::regclass"
                " AND a.amname = 'gin' AND 'fastupdate=off' = ANY(c.reloptions)"
                " AND pg_has_role(c.relowner, 'USAGE')",  # only its owner may ALTER it
                [model._meta.db_table],
            )
            indexes = [quote(name) for (name,) in cursor.fetchall()]
            for index in indexes:
                cursor.execute(f"ALTER INDEX {index} SET (fastupdate = on)")
        yield
        with connection.cursor() as cursor:
            for index in indexes:
                cursor.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
                cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run a bulk load with Python's cycle collector off (usable as a decorator too).

    A load keeps hundreds of thousands of records, rows and parsed resources alive, and each full
    collection walks every one of them again: a third of a 100,000-patient FHIR import (15 s of 45)
    and a tenth of the demo seed, for no cycle to collect (records, rows and JSON make none). The
    collector is turned back on after, unless it was off already (another thread's load, or the caller).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _default(field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()


def _ids_reserve(table: str, column: str, count: int) -> list[int]:
    """Take `count` ids from the table's sequence, so later inserts by anyone never collide with them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [pk for (pk,) in cursor.fetchall()]
