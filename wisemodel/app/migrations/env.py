"""Alembic environment of the participant app: `wisemodel.app.db.migrate` runs it with an open connection; the
`alembic` command runs it with `-x url=DATABASE_URL` (or $DATABASE_URL) from this folder."""
from alembic import context
from wisemodel.app.db import Base, check_foreign_keys, connect, migration_connection

config = context.config
connection = config.attributes.get("connection")

def run(conn):
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=conn.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction(): context.run_migrations()

if connection is not None: run(connection)
else:   # SQLite's foreign keys off while tables are rebuilt, checked before the commit (as `migrate` does)
    with migration_connection(connect(context.get_x_argument(as_dictionary=True).get("url"))) as conn:
        run(conn)
        check_foreign_keys(conn)
        conn.commit()
