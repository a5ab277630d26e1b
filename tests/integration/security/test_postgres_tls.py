"""PostgreSQL over TLS, as in production: what the settings say is what the drivers do.

The URL carries the TLS settings (``sslmode``, ``sslrootcert``) and both drivers honour
them: psycopg for the migrations (yoyo), asyncpg for the services' pools. The server
(``infra/postgres-tls.sh``) rejects TCP connections without TLS, as CloudNativePG's
``pg_hba`` in k8s/ does.
"""

from __future__ import annotations

import subprocess
import urllib.parse
import uuid
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from services.runtime import migrations
from services.runtime.database import create_pool
from services.runtime.errors import MigrationError, TransientError
from services.runtime.settings import DatabaseSettings, load
from tests.integration.security.conftest import TlsPostgres

pytestmark = pytest.mark.integration


def with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = {**dict(urllib.parse.parse_qsl(parts.query)), **changes}
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


async def connection_ssl(url: str, schema: str) -> tuple[bool, str]:
    pool = await create_pool(DatabaseSettings(url=SecretStr(url)), schema)
    try:
        row = await pool.fetchrow(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        assert row is not None
        return bool(row["ssl"]), str(row["version"])
    finally:
        await pool.close()


async def test_migrations_and_pool_verify_the_server(
    tls_postgres: TlsPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", tls_postgres.url)
    url = load(DatabaseSettings).url.get_secret_value()
    assert "sslmode=verify-full" in url
    schema = f"tls_{uuid.uuid4().hex[:8]}"
    applied = await migrations.apply_async(url, schema, None)
    assert applied == sorted(path.stem for path in migrations.KIT_MIGRATIONS.glob("kit_*.sql"))
    assert applied[0] == "kit_0001_inbox_outbox"
    ssl_used, version = await connection_ssl(url, schema)
    assert ssl_used
    assert version in {"TLSv1.2", "TLSv1.3"}
    # The certificate names localhost too, so verify-full accepts that host name.
    localhost = tls_postgres.url.replace("@127.0.0.1:", "@localhost:")
    assert await connection_ssl(localhost, schema) == (True, version)


async def test_the_server_refuses_a_connection_without_tls(tls_postgres: TlsPostgres) -> None:
    plaintext = with_query(tls_postgres.url, sslmode="disable")
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await connection_ssl(plaintext, "public")
    with pytest.raises(MigrationError, match="no encryption"):
        migrations.apply(plaintext, "refused", None)


def other_ca(folder: Path) -> Path:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=Another CA", "-keyout", str(folder / "other.key"),
            "-out", str(folder / "other.crt"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder / "other.crt"


async def test_a_server_certificate_from_another_ca_is_refused(
    tls_postgres: TlsPostgres, tmp_path: Path
) -> None:
    url = with_query(tls_postgres.url, sslrootcert=str(other_ca(tmp_path)))
    with pytest.raises(TransientError, match="CERTIFICATE_VERIFY_FAILED"):
        await connection_ssl(url, "public")
    with pytest.raises(MigrationError, match="certificate verify failed"):
        migrations.apply(url, "refused", None)


async def test_sslmode_require_encrypts_without_the_ca(tls_postgres: TlsPostgres) -> None:
    """`require` encrypts without verifying: enough where the server's CA is not at hand."""
    parts = urllib.parse.urlsplit(tls_postgres.url)
    without_ca = urllib.parse.urlunsplit(parts._replace(query="sslmode=require"))
    ssl_used, version = await connection_ssl(without_ca, "public")
    assert ssl_used
    assert version in {"TLSv1.2", "TLSv1.3"}
