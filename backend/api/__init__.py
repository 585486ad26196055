"""The read-only JSON API (FastAPI): `app.create_app`, routers per resource under `routes/`."""
