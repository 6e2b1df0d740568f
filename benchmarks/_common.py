"""Set-up the benchmark scripts share (the leading underscore keeps `benchmarks/run` from running it)."""


def ensure_database(*, require_postgres: str = "") -> None:
    """Create the database of DATABASE_URL when it is missing. With `require_postgres` (the script's
    name), a non-PostgreSQL DATABASE_URL stops the script with that message."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        if require_postgres:
            raise SystemExit(f"{require_postgres} needs PostgreSQL: set DATABASE_URL=postgres://...")
        return
    import psycopg
    from psycopg import sql

    params = {
        "dbname": "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            print(f"Created database {db['NAME']}.")


def setup_django(*, require_postgres: str = "") -> None:
    """django.setup(), the database created if missing, and migrated."""
    import django

    django.setup()
    ensure_database(require_postgres=require_postgres)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
