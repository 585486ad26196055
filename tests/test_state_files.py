"""Services write their state under .run/ (or where told), never into the working directory's root."""

from __future__ import annotations

from peerlend.db import make_engine


def test_oracle_service_database_defaults_under_run(monkeypatch, tmp_path):
    from oracle.service.settings import OracleSettings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEERLEND_ORACLE_DB_URL", raising=False)
    url = OracleSettings().db_url
    assert url == "sqlite:///.run/oracle.db"
    make_engine(url).connect().close()  # the folder is created on first use
    assert (tmp_path / ".run" / "oracle.db").exists()
    assert not (tmp_path / "oracle.db").exists()
